import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isStrataError } from '@strata/core';
import { credentialsPath, loadAgentConfig, servedDirs } from './config.js';

test('config: file values, environment overrides, defaults, and a coded error naming what is missing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-agent-config-'));
  try {
    const file = join(dir, 'agent.json');
    await writeFile(
      file,
      JSON.stringify({ serverUrl: 'wss://a:1/agent/v1', serverFingerprint: 'AA', registrationToken: 't' }),
    );
    const fromFile = await loadAgentConfig(file, {});
    assert.deepEqual(fromFile, {
      serverUrl: 'wss://a:1/agent/v1',
      serverFingerprint: 'AA',
      stateDir: '/var/lib/strata-agent',
      registrationToken: 't',
      roles: ['kvm'],
      storageProviders: ['qcow2', 'tgt', 'rbd'],
      poolDirs: [],
      hostStateDir: '/var/lib/strata/state',
      capacity: {},
    });
    assert.equal(credentialsPath(fromFile), '/var/lib/strata-agent/credentials.json');
    const overridden = await loadAgentConfig(file, {
      STRATA_SERVER_URL: 'wss://b:2/agent/v1',
      STRATA_AGENT_STATE_DIR: dir,
      STRATA_AGENT_ROLES: 'kvm, storage',
      STRATA_AGENT_STORAGE_PROVIDERS: 'tgt',
      STRATA_AGENT_POOL_DIRS: '/srv/a b:/srv/c',
    });
    assert.deepEqual(overridden.roles, ['kvm', 'storage']);
    assert.deepEqual(overridden.storageProviders, ['tgt']);
    assert.deepEqual(overridden.poolDirs, ['/srv/a b', '/srv/c']);
    await assert.rejects(
      loadAgentConfig(file, { STRATA_AGENT_ROLES: 'kvm,nfs' }),
      (e) => isStrataError(e, 'INVALID_ARGUMENT') && e.params['field'] === 'roles',
    );
    await assert.rejects(
      loadAgentConfig(file, { STRATA_AGENT_POOL_DIRS: 'srv/pool' }),
      (e) => isStrataError(e, 'INVALID_ARGUMENT') && e.params['field'] === 'poolDirs',
    );
    assert.equal(overridden.serverUrl, 'wss://b:2/agent/v1');
    assert.equal(overridden.stateDir, dir);
    // the directories the file commands serve: the host state directory and the pool directories
    const served = await loadAgentConfig(file, {
      STRATA_HOST_STATE_DIR: '/srv/state',
      STRATA_AGENT_POOL_DIRS: '/srv/pool a::/mnt/nfs "b"',
    });
    assert.equal(served.hostStateDir, '/srv/state');
    assert.deepEqual(served.poolDirs, ['/srv/pool a', '/mnt/nfs "b"']);
    assert.deepEqual(servedDirs(served), ['/srv/state', '/srv/pool a', '/mnt/nfs "b"']);
    // the snapshot store (memory states every host of the zone sees) is served too
    const store = await loadAgentConfig(file, { STRATA_AGENT_SNAPSHOT_STORE: '/mnt/store' });
    assert.equal(store.snapshotStore, '/mnt/store');
    assert.deepEqual(servedDirs(store), ['/var/lib/strata/state', '/mnt/store']);
    await assert.rejects(
      loadAgentConfig(file, { STRATA_AGENT_SNAPSHOT_STORE: 'mnt/store' }),
      (e) => isStrataError(e, 'INVALID_ARGUMENT') && e.params['field'] === 'snapshotStore',
    );
    for (const bad of ['/', '/srv/../etc', '/srv//pool'])
      await assert.rejects(
        loadAgentConfig(file, { STRATA_AGENT_POOL_DIRS: bad }),
        (e) => isStrataError(e, 'INVALID_ARGUMENT') && e.params['field'] === 'poolDirs',
        bad,
      );
    await writeFile(
      file,
      JSON.stringify({ serverUrl: 'wss://a', serverFingerprint: 'AA', poolDirs: ['/p'] }),
    );
    assert.deepEqual((await loadAgentConfig(file, {})).poolDirs, ['/p']);
    await writeFile(file, JSON.stringify({ serverUrl: 'wss://a', serverFingerprint: 'AA', poolDirs: '/p' }));
    await assert.rejects(
      loadAgentConfig(file, {}),
      (e) => isStrataError(e, 'INVALID_ARGUMENT') && e.params['field'] === 'poolDirs',
    );
    // the setting it replaced is refused, in the environment or the file, naming the new one
    const replaced = (e: unknown) =>
      isStrataError(e, 'INVALID_ARGUMENT') &&
      e.params['field'] === 'fileRoots' &&
      String(e.params['reason']).includes('STRATA_AGENT_POOL_DIRS');
    await assert.rejects(loadAgentConfig(file, { STRATA_AGENT_FILE_ROOTS: '/p' }), replaced);
    await writeFile(
      file,
      JSON.stringify({ serverUrl: 'wss://a', serverFingerprint: 'AA', fileRoots: ['/p'] }),
    );
    await assert.rejects(loadAgentConfig(file, {}), replaced);
    await assert.rejects(
      loadAgentConfig(undefined, { STRATA_SERVER_URL: 'wss://x' }),
      (e) => isStrataError(e, 'INVALID_ARGUMENT') && e.params['field'] === 'serverFingerprint',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('config: a capacity smaller than the machine is read from the environment and checked against it', async () => {
  const base = { STRATA_SERVER_URL: 'wss://a', STRATA_SERVER_FINGERPRINT: 'AA' };
  const machine = { cpus: 4, memoryBytes: 8 * 1024 ** 3 };
  const told = await loadAgentConfig(
    undefined,
    { ...base, STRATA_AGENT_CPUS: '1', STRATA_AGENT_MEMORY_BYTES: '1073741824' },
    machine,
  );
  assert.deepEqual(told.capacity, { cpus: 1, memoryBytes: 1024 ** 3 });
  await assert.rejects(
    loadAgentConfig(undefined, { ...base, STRATA_AGENT_CPUS: '5' }, machine),
    (e) => isStrataError(e, 'INVALID_ARGUMENT') && e.params['field'] === 'cpus',
  );
});
