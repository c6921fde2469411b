import assert from 'node:assert/strict';
import { test } from 'node:test';
import { qcow2Capabilities } from '@strata/driver-qcow2';
import { rbdCapabilities } from '@strata/driver-rbd';
import { isStrataError, StrataError, type StorageCallParams } from '@strata/core';
import type { AgentPort } from './agent-port.js';
import { RemoteStorageDriver } from './remote-driver.js';
import { builtInDriverFactories } from '@strata/agent/storage/driver-factories';
import type { Queryable } from '../db/index.js';
import { listsAccess } from '../orphans/backends.js';
import { remoteDriverTypes, serverDriverFactories } from './remote-drivers.js';

// The forwarder alone, over a recording port (a fake: the real channel is in remote-driver.int.test.ts).
function recordingPort(answer: (p: StorageCallParams) => Promise<unknown>) {
  const sent: Array<{ hostId: string; params: StorageCallParams; timeoutMs?: number }> = [];
  const port = {
    send(hostId: string, _command: string, params: StorageCallParams, options: { timeoutMs?: number } = {}) {
      sent.push({ hostId, params, ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }) });
      return answer(params).then((result) => ({ result }));
    },
  } as unknown as AgentPort;
  return { port, sent };
}
const pool = { provider: 'qcow2', url: 'file:///srv/p', details: {}, capacityBytes: 0, capacityIops: 0 };
const make = (port: AgentPort, type = 'qcow2') =>
  new RemoteStorageDriver({
    name: 'pool-1',
    type,
    pool,
    capabilities: type === 'rbd' ? rbdCapabilities : qcow2Capabilities,
    vmSnapshotParts: type === 'rbd',
    agent: port,
    locate: () => Promise.resolve('host-9'),
    deadlineMs: () => 1_000,
  });

test('a remote driver sends storage.call to the node with the pool, method, request and deadline', async () => {
  const { port, sent } = recordingPort(() => Promise.resolve({ deleted: true }));
  const d = make(port);
  assert.equal(d.type, 'qcow2');
  assert.deepEqual(d.capabilities, qcow2Capabilities, "the local type's capabilities");
  assert.equal(d.listVmSnapshotParts, undefined, 'only types that have it');
  assert.equal(typeof make(port, 'rbd').listVmSnapshotParts, 'function');
  assert.deepEqual(await d.deleteVolume({ signal: new AbortController().signal }, { volumeId: 'v' }), {
    deleted: true,
  });
  assert.deepEqual(sent, [
    {
      hostId: 'host-9',
      params: {
        poolId: 'pool-1',
        pool,
        method: 'deleteVolume',
        request: { volumeId: 'v' },
        deadlineMs: 1_000,
      },
      timeoutMs: 16_000,
    },
  ]);
  await d.capacity({ signal: new AbortController().signal });
  assert.equal('request' in (sent[1]?.params ?? {}), false, 'no request for capacity');
});

test('a cancelled caller is refused before sending, and stops waiting when it cancels mid-call', async () => {
  const { port, sent } = recordingPort(() => new Promise(() => undefined));
  const d = make(port);
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(d.getVolume({ signal: aborted.signal }, { volumeId: 'v' }), {
    code: 'STORAGE_CANCELLED',
  });
  assert.equal(sent.length, 0);
  // A ref'd timer (AbortSignal.timeout's is not, and nothing else keeps this test alive).
  const later = new AbortController();
  setTimeout(() => later.abort(), 20);
  await assert.rejects(d.getVolume({ signal: later.signal }, { volumeId: 'v' }), {
    code: 'STORAGE_CANCELLED',
  });
  assert.equal(sent.length, 1);
});

test('STRATA_REMOTE_DRIVERS: tgt and qcow2 always remote, rbd may be added; others refused', () => {
  assert.deepEqual(remoteDriverTypes({}), ['tgt', 'qcow2']);
  assert.deepEqual(remoteDriverTypes({ STRATA_REMOTE_DRIVERS: ' ' }), ['tgt', 'qcow2']);
  assert.deepEqual(remoteDriverTypes({ STRATA_REMOTE_DRIVERS: ' tgt, qcow2 ,tgt' }), ['tgt', 'qcow2']);
  assert.deepEqual(remoteDriverTypes({ STRATA_REMOTE_DRIVERS: 'qcow2,tgt,rbd' }), ['qcow2', 'tgt', 'rbd']);
  const refused = (value: string, words: RegExp) =>
    assert.throws(
      () => remoteDriverTypes({ STRATA_REMOTE_DRIVERS: value }),
      (e) =>
        isStrataError(e, 'INVALID_ARGUMENT') &&
        e instanceof StrataError &&
        e.params['field'] === 'STRATA_REMOTE_DRIVERS' &&
        words.test(String(e.params['reason'])),
    );
  refused('tgt,qcow2,nfs', /not a driver type: nfs/);
  // the in-process form of tgt and qcow2 is gone: a list that leaves them out is refused
  refused('rbd', /list tgt, qcow2 too/);
  refused('tgt', /list qcow2 too/);
});

test('the server builds tgt and qcow2 drivers only as remote ones; rbd in-process unless listed', () => {
  const db = {} as Queryable; // never queried: a remote driver finds its node at its first call
  const { port } = recordingPort(() => Promise.resolve({}));
  const row = (provider: string, url: string) => ({
    id: `p-${provider}`,
    name: `p-${provider}`,
    zoneId: 'z',
    clusterId: null,
    provider,
    scope: 'cluster' as const,
    managed: true,
    state: 'Up' as const,
    capacityBytes: 0,
    capacityIops: 0,
    url,
    details: {},
    createdAt: new Date().toISOString(),
  });
  const byDefault = serverDriverFactories(remoteDriverTypes({}), db, () => port);
  assert.deepEqual(Object.keys(byDefault).sort(), ['qcow2', 'rbd', 'tgt']);
  assert.ok(byDefault['qcow2']!(row('qcow2', 'file:///srv/q')) instanceof RemoteStorageDriver);
  assert.ok(byDefault['tgt']!(row('tgt', 'iscsi://127.0.0.1/srv/t')) instanceof RemoteStorageDriver);
  assert.equal(byDefault['rbd'], builtInDriverFactories['rbd'], 'rbd runs in the server by default');
  // the orphan scan's grant listing crosses too, for the types that have it
  assert.ok(listsAccess(byDefault['tgt']!(row('tgt', 'iscsi://127.0.0.1/srv/t'))));
  assert.ok(!listsAccess(byDefault['qcow2']!(row('qcow2', 'file:///srv/q'))));
  // a fake under a remote type's name does not bring the in-process form back
  const fake = () => assert.fail('an in-process qcow2 driver was built');
  const withFake = serverDriverFactories(['tgt', 'qcow2', 'rbd'], db, () => port, { qcow2: fake });
  assert.ok(withFake['qcow2']!(row('qcow2', 'file:///srv/q')) instanceof RemoteStorageDriver);
  assert.ok(withFake['rbd']!(row('rbd', 'rbd://pool')) instanceof RemoteStorageDriver);
});
