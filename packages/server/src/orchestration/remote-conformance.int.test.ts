import { after, before } from 'node:test';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHANNEL_PATH, type StorageDriver, type StoragePool } from '@strata/core';
import {
  TEST_ROOT,
  ensureCeph,
  ensurePool,
  ensureReflinkPool,
  ensureTgtd,
  runDriverConformance,
} from '@strata/testing';
import type { Database } from '../db/index.js';
import type { AgentHub } from '../agents/hub.js';
import { startAgentProcess, stopAgentProcess, type AgentProcess } from '../agents/testing/agent-process.js';
import { startTestHub } from '../agents/testing/test-hub.js';
import { remoteDriverFactories } from './remote-drivers.js';

// The driver conformance suite against the remote form (ADR 0003): a real hub, the shipped agent
// process in the storage role (storage only: it needs no libvirt), real tgtd with CHAP on an XFS
// reflink pool, a real qcow2 directory and a real single-node Ceph (rbd through an agent with a
// keyring, as a server that holds none would call it). Every driver call crosses the agent channel
// as `storage.call`; the suite's data checks open the volumes with QEMU from the connection details.
const tag = randomBytes(3).toString('hex');
// A Ceph pool of its own: the suite counts volumes, and other tests share the default pool.
const RBD_POOL = 'strata-rbd-remote-conformance';
const qcow2Root = join(TEST_ROOT, `qcow2-rcf-${tag}`);
let tgtRoot = '';
let dir = '';
let db: Database;
let hub: AgentHub;
let proc: AgentProcess | undefined;

const pool = (
  id: string,
  provider: string,
  url: string,
  details: Record<string, string> = {},
): StoragePool => ({
  id,
  name: id,
  zoneId: 'z',
  clusterId: null,
  provider,
  scope: 'cluster',
  managed: true,
  state: 'Up',
  capacityBytes: 0,
  capacityIops: 10_000,
  url,
  details,
  createdAt: new Date().toISOString(),
});

/** The hub and the storage node, once for both suites. */
const ready = (async () => {
  await mkdir(qcow2Root, { recursive: true });
  const reflink = await ensureReflinkPool();
  tgtRoot = join(reflink.mountPoint, `rcf-${tag}`);
  await mkdir(tgtRoot, { recursive: true });
  const { portal } = await ensureTgtd();
  dir = await mkdtemp(join(tmpdir(), 'strata-remote-cf-'));
  ({ db, hub } = await startTestHub({ dir, suffix: tag, heartbeatMs: 2_000 }));
  const { token, fingerprint } = await hub.issueRegistrationToken(`cluster-${tag}`);
  const connected = new Promise<string>((resolve) => hub.onConnection((id, up) => up && resolve(id)));
  proc = startAgentProcess('main', {
    STRATA_SERVER_URL: `wss://127.0.0.1:${hub.port}${CHANNEL_PATH}`,
    STRATA_SERVER_FINGERPRINT: fingerprint,
    STRATA_REGISTRATION_TOKEN: token,
    STRATA_AGENT_STATE_DIR: join(dir, 'agent'),
    STRATA_AGENT_ROLES: 'storage',
    STRATA_AGENT_STORAGE_PROVIDERS: 'tgt,qcow2,rbd',
    STRATA_AGENT_POOL_DIRS: `${tgtRoot}:${qcow2Root}`,
  });
  await connected;
  const factories = remoteDriverFactories(['tgt', 'qcow2', 'rbd'], db, () => hub);
  return { portal, factories };
})();
// Failures surface in the suites' before(); keep this one from being reported as unhandled.
ready.catch(() => undefined);

before(async () => {
  await ready;
});

runDriverConformance('tgt (remote, over the agent channel)', async (): Promise<StorageDriver> => {
  const { portal, factories } = await ready;
  return factories['tgt']!(
    pool(`rcf-tgt-${tag}`, 'tgt', `iscsi://${portal}${tgtRoot}`, {
      chapKey: randomBytes(16).toString('hex'),
    }),
  );
});

runDriverConformance('qcow2 (remote, over the agent channel)', async (): Promise<StorageDriver> => {
  const { factories } = await ready;
  return factories['qcow2']!(pool(`rcf-qcow2-${tag}`, 'qcow2', `file://${qcow2Root}`));
});

runDriverConformance('rbd (remote, over the agent channel)', async (): Promise<StorageDriver> => {
  const { factories } = await ready;
  const ceph = await ensureCeph();
  await ensurePool(ceph, RBD_POOL);
  return factories['rbd']!(
    pool(`rcf-rbd-${tag}`, 'rbd', `rbd://${RBD_POOL}`, {
      confPath: ceph.confPath,
      keyringPath: ceph.adminKeyringPath,
      monitors: ceph.monitors.join(','),
    }),
  );
});

after(async () => {
  if (proc) await stopAgentProcess(proc);
  await hub?.stop();
  await db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  if (tgtRoot) await rm(tgtRoot, { recursive: true, force: true });
  await rm(qcow2Root, { recursive: true, force: true });
});
