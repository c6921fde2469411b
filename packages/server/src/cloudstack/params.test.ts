import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '@strata/core';
import { parseParams, read, type ParamSchema } from './params.js';

const schema: ParamSchema = {
  id: { type: 'uuid', required: true, description: '' },
  size: { type: 'long', description: '' },
  quiescevm: { type: 'boolean', description: '' },
  name: { type: 'string', description: '' },
  details: { type: 'map', description: '' },
};

void test('names match without regard to case; values are typed', () => {
  const p = parseParams('cmd', schema, { ID: 'vol-1', Size: '10', quiesceVM: 'TRUE', name: 'a <b> & "c"' });
  assert.deepEqual(p, { id: 'vol-1', size: 10, quiescevm: true, name: 'a <b> & "c"' });
});

void test('maps arrive as name[i].key=value, in index order, in both CloudStack shapes', () => {
  const p = parseParams('cmd', schema, {
    id: 'x',
    'details[1].key': 'b',
    'details[1].value': '2',
    'details[0].a': '1',
  });
  assert.deepEqual(read.map(p, 'details'), { a: '1', b: '2' });
});

void test("a missing required parameter and malformed values are CloudStack's 431 errors", () => {
  assert.throws(
    () => parseParams('attachVolume', schema, {}),
    (e: unknown) =>
      isStrataError(e, 'CLOUDSTACK_MISSING_PARAMETER') &&
      e.message === 'Unable to execute API command attachVolume due to missing parameter id',
  );
  const bads: Record<string, string>[] = [
    { size: '1.5' },
    { size: 'ten' },
    { quiescevm: 'yes' },
    { size: '99999999999999999999' },
  ];
  for (const bad of bads) {
    assert.throws(
      () => parseParams('c', schema, { id: 'x', ...bad }),
      (e: unknown) => isStrataError(e, 'CLOUDSTACK_INVALID_PARAMETER'),
    );
  }
  assert.throws(
    () => parseParams('c', schema, { id: 'has space' }),
    (e: unknown) => isStrataError(e, 'CLOUDSTACK_INVALID_PARAMETER'),
  );
  assert.throws(
    () => parseParams('c', schema, { id: 'x', name: 'a\u0001b' }),
    (e: unknown) => isStrataError(e, 'CLOUDSTACK_INVALID_PARAMETER'),
  );
});

void test('an empty value counts as absent, as CloudStack treats it', () => {
  assert.deepEqual(parseParams('c', schema, { id: 'x', size: '' }), { id: 'x' });
});
