import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDomStats } from './domstats.js';
import { BlockSampler } from './sampler.js';

// What `virsh -q domstats --block --list-running` prints (libvirt 9), trimmed to the fields read.
const stats = (name: string, vda: [number, number], vdb?: [number, number], vdbPath = '/p/data.qcow2') =>
  [
    `Domain: '${name}'`,
    `  block.count=${vdb ? 2 : 1}`,
    '  block.0.name=vda',
    '  block.0.path=/p/root.qcow2',
    `  block.0.rd.reqs=${vda[0]}`,
    '  block.0.rd.bytes=1',
    `  block.0.wr.reqs=${vda[1]}`,
    ...(vdb
      ? [
          '  block.1.name=vdb',
          `  block.1.path=${vdbPath}`,
          `  block.1.rd.reqs=${vdb[0]}`,
          `  block.1.wr.reqs=${vdb[1]}`,
        ]
      : []),
    '',
  ].join('\n');

test('domstats output parses per domain and disk; a name with quotes survives; disks without counters are left out', () => {
  const text = `${stats(`a'b "c" <d>`, [10, 20], [1, 2])}Domain: 'empty'\n  block.count=1\n  block.0.name=hdc\n`;
  const m = parseDomStats(text);
  assert.deepEqual([...m.keys()], [`a'b "c" <d>`, 'empty']);
  assert.deepEqual(m.get(`a'b "c" <d>`), [
    { target: 'vda', path: '/p/root.qcow2', rdReqs: 10, wrReqs: 20 },
    { target: 'vdb', path: '/p/data.qcow2', rdReqs: 1, wrReqs: 2 },
  ]);
  assert.deepEqual(m.get('empty'), []);
});

/**
 * The sampler over a FAKE reader and clock: `read` answers the text a test sets instead of running
 * virsh, `now` is a number the test moves. The real path (virsh against a running guest) is
 * sampler.int.test.ts.
 */
function fake(windowMs = 10_000) {
  let text = '';
  let now = 1_000_000;
  const s = new BlockSampler(() => Promise.resolve(text), { periodMs: 2000, windowMs, now: () => now });
  const at = async (dtMs: number, t: string): Promise<void> => {
    now += dtMs;
    text = t;
    await s.sample();
  };
  return { s, at };
}

test('IOPS are counter differences over time, reads and writes apart; the ring keeps windowMs of points', async () => {
  const { s, at } = fake(6000); // 3 points at 2 s
  await at(0, stats('vm', [0, 0], [0, 0]));
  assert.deepEqual(s.window('vm', 'vdb').points, []);
  assert.match(s.window('vm', 'vdb').reason ?? '', /first interval/);
  await at(2000, stats('vm', [10, 0], [100, 300]));
  assert.deepEqual(s.window('vm', 'vdb').points, [
    { at: 1_002_000, readIops: 50, writeIops: 150, iops: 200 },
  ]);
  assert.deepEqual(
    s.window('vm', 'vda').points.map((p) => p.iops),
    [5],
  );
  for (let i = 1; i <= 4; i++) await at(2000, stats('vm', [10, 0], [100 + i * 2, 300 + i]));
  const w = s.window('vm', 'vdb');
  assert.equal(w.points.length, 3, 'older points fall out of the window');
  assert.deepEqual(
    w.points.map((p) => [p.readIops, p.writeIops, p.iops]),
    [
      [1, 0.5, 1.5],
      [1, 0.5, 1.5],
      [1, 0.5, 1.5],
    ],
  );
  assert.equal(w.reason, null);
  assert.equal(w.periodMs, 2000);
  assert.equal(w.windowMs, 6000);
});

test('a counter going down or a new source under the target starts the window again; a gone domain or disk says why', async () => {
  const { s, at } = fake();
  await at(0, stats('vm', [0, 0], [0, 0]));
  await at(2000, stats('vm', [0, 0], [50, 50]));
  assert.equal(s.window('vm', 'vdb').points.length, 1);
  await at(2000, stats('vm', [0, 0], [3, 1])); // QEMU restarted without an event seen
  assert.deepEqual(s.window('vm', 'vdb').points, []);
  await at(2000, stats('vm', [0, 0], [5, 1]));
  assert.deepEqual(
    s.window('vm', 'vdb').points.map((p) => p.iops),
    [1],
  );
  await at(2000, stats('vm', [0, 0], [900, 900], '/p/other.qcow2')); // another disk attached as vdb
  assert.deepEqual(s.window('vm', 'vdb').points, []);
  await at(2000, stats('vm', [0, 0]));
  assert.match(s.window('vm', 'vdb').reason ?? '', /no disk vdb/);
  await at(2000, '');
  assert.match(s.window('vm', 'vda').reason ?? '', /not running/);
});

test('a lifecycle change of the domain drops its windows; a failed read keeps them and says why', async () => {
  const { s, at } = fake();
  await at(0, stats('vm', [0, 0]));
  await at(2000, stats('vm', [4, 4]));
  assert.equal(s.window('vm', 'vda').points.length, 1);
  s.domainChanged('vm');
  assert.deepEqual(s.window('vm', 'vda').points, []);
  await at(2000, stats('vm', [6, 4]));
  await at(2000, stats('vm', [8, 4]));
  const failing = new BlockSampler(() => Promise.reject(new Error('libvirtd is down')));
  await failing.sample();
  assert.match(failing.window('vm', 'vda').reason ?? '', /libvirtd is down/);
  assert.deepEqual(
    s.window('vm', 'vda').points.map((p) => p.iops),
    [1],
  );
});
