import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StrataError } from '@strata/core';
import { DEFAULT_MAX_CHAIN_DEPTH, maxChainDepth, streamPlan } from './chain-depth.js';
import type { ChainLayer } from '@strata/core';

const chainOf = (n: number): ChainLayer[] =>
  Array.from({ length: n }, (_, i) => ({ path: `/pool/layer-${n - 1 - i}.qcow2`, format: 'qcow2' }));

void test('a chain with room for the next overlay is left alone', () => {
  for (let depth = 1; depth < 8; depth++) assert.equal(streamPlan(chainOf(depth), 8), null);
});

void test('a chain the next overlay would push past the bound streams down to half of it', () => {
  for (const maxDepth of [3, 4, 5, 8, 12]) {
    for (let depth = maxDepth; depth <= maxDepth + 5; depth++) {
      const chain = chainOf(depth);
      const step = streamPlan(chain, maxDepth);
      assert.ok(step, `depth ${depth} with bound ${maxDepth} streams`);
      const kept = chain.slice(chain.indexOf(step.base));
      assert.equal(1 + kept.length, step.depthAfter, 'the active layer over the kept layers');
      assert.equal(step.depthAfter, Math.max(2, Math.floor(maxDepth / 2)));
      assert.ok(step.depthAfter + 1 <= maxDepth, 'the cut that follows stays within the bound');
      assert.equal(kept.at(-1), chain.at(-1), 'the bottom image (template base) is never streamed away');
    }
  }
});

void test('the bound comes from STRATA_MAX_CHAIN_DEPTH, else the default; bad values are refused with a code', () => {
  assert.equal(maxChainDepth({}), DEFAULT_MAX_CHAIN_DEPTH);
  assert.equal(maxChainDepth({ STRATA_MAX_CHAIN_DEPTH: '5' }), 5);
  for (const bad of ['2', '0', '-4', '4.5', 'eight', '8; rm -rf /']) {
    assert.throws(
      () => maxChainDepth({ STRATA_MAX_CHAIN_DEPTH: bad }),
      (e: unknown) => e instanceof StrataError && e.code === 'INVALID_ARGUMENT',
      bad,
    );
  }
});
