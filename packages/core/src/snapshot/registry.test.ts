import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cantHandle } from './priority.js';
import { StrategyRegistry, type VmSnapshotStrategy } from './registry.js';
import type { VmSnapshotRequest } from './request.js';

type Calls = string[];
type Own = VmSnapshotStrategy<{
  ctx: Calls;
  take: string;
  taken: string;
  revert: string;
  reverted: void;
  delete: string;
  deleted: void;
}>;

/** A strategy of the test's own: claims VMs whose id starts with its prefix, records its calls. */
function own(name: string, prefix: string): Own {
  return {
    name,
    canHandle: (r) =>
      r.vm.id.startsWith(prefix)
        ? { priority: 'HIGHEST', reason: `${prefix} VMs are mine` }
        : cantHandle('not mine'),
    take: (calls, s) => (calls.push(`${name}.take ${s}`), Promise.resolve(`${name}:${s}`)),
    revert: (calls, s) => (calls.push(`${name}.revert ${s}`), Promise.resolve()),
    delete: (calls, s) => (calls.push(`${name}.delete ${s}`), Promise.resolve()),
  };
}

const request = (vmId: string): VmSnapshotRequest => ({
  operation: 'take',
  vm: { id: vmId, state: 'Running', guestAgent: true },
  disks: [],
  type: 'Disk',
  quiesce: 'auto',
});

void test('a registered strategy is selected, takes, and gets revert and delete of what it took', async () => {
  const registry = new StrategyRegistry<Own>().register(own('mine', 'vm-m')).register(own('other', 'vm-o'));
  const calls: Calls = [];
  const { strategy, explanation } = registry.select(request('vm-m1'));
  assert.equal(strategy.name, 'mine');
  assert.deepEqual(
    explanation.map((e) => [e.strategy, e.chosen]),
    [
      ['mine', true],
      ['other', false],
    ],
  );
  const ref = await strategy.take(calls, 'snap-1');
  const recorded = { id: 'snap-1', strategy: strategy.name };
  await registry.forSnapshot(recorded).revert(calls, ref);
  await registry.forSnapshot(recorded).delete(calls, ref);
  assert.deepEqual(calls, ['mine.take snap-1', 'mine.revert mine:snap-1', 'mine.delete mine:snap-1']);
});

void test('registration refuses empty and duplicate names', () => {
  const registry = new StrategyRegistry<Own>().register(own('mine', 'x'));
  assert.throws(() => registry.register(own('mine', 'y')), { code: 'ALREADY_EXISTS' });
  assert.throws(() => registry.register(own(' ', 'y')), { code: 'INVALID_ARGUMENT' });
});

void test('a snapshot whose strategy is gone: SNAPSHOT_STRATEGY_MISSING; none recorded: the legacy strategy', () => {
  const registry = new StrategyRegistry<Own>('mine').register(own('mine', 'x'));
  assert.throws(() => registry.forSnapshot({ id: 's', strategy: 'gone' }), {
    code: 'SNAPSHOT_STRATEGY_MISSING',
  });
  assert.equal(registry.forSnapshot({ id: 's', strategy: null }).name, 'mine');
  assert.throws(() => new StrategyRegistry<Own>().forSnapshot({ id: 's', strategy: null }), {
    code: 'SNAPSHOT_STRATEGY_MISSING',
  });
});

void test('nothing can handle: NO_SNAPSHOT_STRATEGY with every reason', () => {
  const registry = new StrategyRegistry<Own>().register(own('mine', 'vm-m'));
  assert.throws(() => registry.select(request('vm-z')), { code: 'NO_SNAPSHOT_STRATEGY' });
});
