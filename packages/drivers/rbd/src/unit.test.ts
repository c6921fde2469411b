import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errnoFrom, summarize } from './cli.js';
import { hostUser, imageName, snapName, snapshotIdOf, vmGroupName, volumeIdOf } from './names.js';
import { rbdQosSettings } from './qos.js';

void test('backend names derive from ids only; host and VM names of any spelling become hex', () => {
  assert.equal(imageName('abc-1'), 'vol-abc-1');
  assert.equal(volumeIdOf('vol-abc-1'), 'abc-1');
  assert.equal(volumeIdOf('strata.index'), null);
  assert.equal(snapshotIdOf(snapName('s1')), 's1');
  assert.match(hostUser('pool', `h "<&>" $(x); \``), /^strata-[0-9a-f]{20}$/);
  assert.notEqual(hostUser('p1', 'h'), hostUser('p2', 'h'), 'one key per pool and host');
  assert.match(vmGroupName('vm with spaces/&'), /^vm-[0-9a-f]{20}$/);
});

void test('QoS maps max, burst and burst length to librbd settings; none means unlimited', () => {
  // A 300-IOPS burst over a 200 limit lasting 6 s: librbd's bucket holds 300 × 2 tokens.
  assert.deepEqual(rbdQosSettings({ minIops: 10, maxIops: 200, burstIops: 300, burstSeconds: 6 }), {
    rbd_qos_iops_limit: '200',
    rbd_qos_iops_burst: '300',
    rbd_qos_iops_burst_seconds: '2',
    rbd_qos_bps_limit: '0',
  });
  assert.equal(rbdQosSettings(null)['rbd_qos_iops_limit'], '0');
  assert.equal(
    rbdQosSettings({ minIops: 0, maxIops: 200, burstIops: 200, burstSeconds: 60 })[
      'rbd_qos_iops_burst_seconds'
    ],
    '1',
  );
});

void test('error summaries keep the rbd line and drop start-up chatter', () => {
  const stderr =
    '2026 -1 auth: unable to find a keyring on /etc/ceph\n\nrbd: error opening image x: (2) No such file or directory\n';
  assert.equal(summarize(stderr), 'rbd: error opening image x: (2) No such file or directory');
  const ceph =
    "2026-11-21T12:00:15.100+0000 7ff4 -1 asok: failed to bind '/x/client.admin.asok': (17) File exists\nError ENOENT: failed to find client.y in keyring\n";
  assert.equal(
    summarize(ceph),
    'Error ENOENT: failed to find client.y in keyring',
    'the verdict wins even when it names the keyring',
  );
});

void test('calls sharing a key run one at a time; other keys do not wait', async () => {
  const { KeyedLock } = await import('./keyed-lock.js');
  const lock = new KeyedLock();
  const order: string[] = [];
  const slow = (name: string, ms: number) => async () => {
    order.push(`${name}+`);
    await new Promise((r) => setTimeout(r, ms));
    order.push(`${name}-`);
  };
  await Promise.all([
    lock.run('h', slow('a', 30)),
    lock.run('h', slow('b', 1)),
    lock.run('other', slow('c', 1)),
  ]);
  assert.ok(order.indexOf('a-') < order.indexOf('b+'), 'b waits for a');
  assert.ok(order.indexOf('c-') < order.indexOf('a-'), 'c does not wait for a');
  await assert.rejects(lock.run('h', () => Promise.reject(new Error('x'))));
  assert.equal(await lock.run('h', () => Promise.resolve(1)), 1, 'a failure does not block the key');
});

test('errno comes from the summary line or the exit status, never from start-up chatter', () => {
  // ceph with no default keyring prints "(2) No such file or directory" before the real error.
  const ceph = [
    '2026-11-21T13:17:34.956+0000 7fd3 -1 auth: unable to find a keyring on /etc/ceph/ceph.keyring: (2) No such file or directory',
    'Error EINVAL: key for client.strata-x exists but cap osd does not match',
  ].join('\n');
  assert.equal(errnoFrom(summarize(ceph), 22), 22);
  // rbd's summary can drop the "(17) File exists" line: the exit status still says EEXIST.
  assert.equal(errnoFrom('rbd: create error: librbd: rbd image strata.index already exists', 17), 17);
  assert.equal(errnoFrom('rbd: error opening image x: (2) No such file or directory', 2), 2);
  assert.equal(errnoFrom('something odd', 1), undefined, 'exit status 1 is a generic failure, not EPERM');
});
