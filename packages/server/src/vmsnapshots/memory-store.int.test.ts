import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { strayMemoryStates } from '../orphans/store-files.js';
import type { References } from '../orphans/references.js';
import { hostFiles } from '../orchestration/host-files.js';
import { startFileAgent, type FileAgent } from '../orchestration/testing/file-agent.js';
import {
  memoryAgentHost,
  memoryLocationOf,
  memoryUnreachableFrom,
  newMemoryLocation,
  type MemoryLocation,
} from './memory-store.js';

// Where memory states live, judged from what a real agent reports (STRATA_AGENT_SNAPSHOT_STORE in
// its facts), and the store's files listed and removed by that agent. A second host row, with no
// store, stands for a host that does not mount it.
let dir = '';
let store = '';
let state = '';
let agent: FileAgent;
const other = 'host-without-store';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), `strata memory-store "q" $x;<>'`));
  store = join(dir, 'store');
  state = join(dir, 'state');
  await mkdir(store);
  await mkdir(state);
  agent = await startFileAgent({
    dir: join(dir, 'hub'),
    hostStateDir: state,
    poolDirs: [],
    snapshotStore: store,
  });
  await agent.db.query(
    `INSERT INTO hosts (id, cluster_id, name, state, facts) VALUES ($1, $2, $1, 'Up', '{"roles":["kvm"]}')`,
    [other, agent.clusterId],
  );
});

after(async () => {
  await agent?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a new memory state goes to the store its host mounts, else to the host state directory', async () => {
  const inStore = await newMemoryLocation(agent.db, state, agent.hostId, 'vm1', 'vmsnap-1');
  assert.deepEqual(inStore, { path: join(store, 'vm1.vmsnap-1.memory'), store, hostId: agent.hostId });
  const local = await newMemoryLocation(agent.db, state, other, 'vm1', 'vmsnap-2');
  assert.deepEqual(local, { path: join(state, 'vm1.vmsnap-2.memory'), store: null, hostId: other });
  // a plan from before the store records no memoryStore: host-local
  assert.deepEqual(memoryLocationOf({ memoryPath: local.path, hostId: other }), local);
  assert.equal(memoryLocationOf({ memoryPath: null }), null);
});

test('a host reads a memory state in a store it mounts, or in its own state directory only', async () => {
  const inStore: MemoryLocation = { path: join(store, 'vm1.s.memory'), store, hostId: agent.hostId };
  assert.equal(await memoryUnreachableFrom(agent.db, inStore, agent.hostId), null);
  assert.match((await memoryUnreachableFrom(agent.db, inStore, other)) ?? '', /mounts no snapshot store/);
  const local: MemoryLocation = { path: join(state, 'vm1.s.memory'), store: null, hostId: other };
  assert.equal(await memoryUnreachableFrom(agent.db, local, other), null);
  assert.match(
    (await memoryUnreachableFrom(agent.db, local, agent.hostId)) ?? '',
    /state directory of host host-without-store/,
  );
  // who removes it: a host that sees it, the preferred one when it does
  assert.equal(await memoryAgentHost(agent.db, inStore, { prefer: other }), agent.hostId);
  assert.equal(await memoryAgentHost(agent.db, local, { prefer: agent.hostId }), other);
});

test('the orphan scan lists the store through an agent: a memory state no snapshot records', async () => {
  const kept = join(store, 'vm1.vmsnap-kept.memory');
  const stray = join(store, 'vm1.vmsnap-gone.memory');
  await writeFile(kept, 'recorded');
  await writeFile(stray, 'nothing records it');
  await writeFile(join(store, 'unknown-vm.vmsnap-x.memory'), 'another installation');
  const refs = {
    knownVms: new Set(['vm1']),
    busyVms: new Set<string>(),
    memoryFiles: new Set([kept]),
  } as unknown as References;
  const warnings: string[] = [];
  const found = await strayMemoryStates(agent.db, agent.hub, refs, warnings);
  assert.deepEqual(warnings, []);
  assert.deepEqual(
    found.map((o) => [o.kind, o.ref, o.hostId, o.vmSnapshotId]),
    [['file', stray, agent.hostId, 'vmsnap-gone']],
  );
  // a VM some live job works on is left alone
  const busy = { ...refs, busyVms: new Set(['vm1']) } as References;
  assert.deepEqual(await strayMemoryStates(agent.db, agent.hub, busy, []), []);
  // the host it names removes it (the store is one of the directories its file commands serve)
  assert.equal(await hostFiles(agent.hub, found[0]!.hostId!).remove(stray), true);
  assert.deepEqual((await readdir(store)).sort(), ['unknown-vm.vmsnap-x.memory', 'vm1.vmsnap-kept.memory']);
});
