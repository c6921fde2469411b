import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CHANNEL_PATH } from '@strata/core';
import type { Database } from '../../db/index.js';
import type { AgentHub } from '../../agents/hub.js';
import { startAgentProcess, stopAgentProcess } from '../../agents/testing/agent-process.js';
import { startTestHub } from '../../agents/testing/test-hub.js';
import { waitFor } from '../../agents/testing/wait-for.js';

/** A real hub and a real agent process serving files, for tests of what the server asks of files. */
export interface FileAgent {
  readonly db: Database;
  readonly hub: AgentHub;
  readonly hostId: string;
  readonly clusterId: string;
  /** A qcow2 pool row of the agent's cluster at `dir` (its files go through that agent). */
  addPool(id: string, dir: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a hub (PGlite in memory) and the fixture agent (the real AgentChannel and file commands;
 * no libvirt needed) serving `hostStateDir` and `poolDirs`, and waits until its host is Up.
 * Test support, not product code.
 */
export async function startFileAgent(opts: {
  readonly dir: string;
  readonly hostStateDir: string;
  readonly poolDirs: readonly string[];
  /** The snapshot store it mounts (STRATA_AGENT_SNAPSHOT_STORE), reported in its facts. */
  readonly snapshotStore?: string;
}): Promise<FileAgent> {
  const suffix = Math.random().toString(36).slice(2, 8);
  const { db, hub, clusterId } = await startTestHub({ dir: opts.dir, suffix, heartbeatMs: 1_000 });
  const { token } = await hub.issueRegistrationToken(clusterId, 60_000);
  const stateDir = join(opts.dir, 'agent');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const proc = startAgentProcess('fixture-agent', {
    STRATA_SERVER_URL: `wss://127.0.0.1:${hub.port}${CHANNEL_PATH}`,
    STRATA_SERVER_FINGERPRINT: hub.fingerprint,
    STRATA_REGISTRATION_TOKEN: token,
    STRATA_AGENT_STATE_DIR: stateDir,
    STRATA_FIXTURE_HOSTNAME: `files-${suffix}`,
    STRATA_HOST_STATE_DIR: opts.hostStateDir,
    STRATA_AGENT_POOL_DIRS: opts.poolDirs.join(':'),
    ...(opts.snapshotStore && { STRATA_AGENT_SNAPSHOT_STORE: opts.snapshotStore }),
  });
  const stop = async () => {
    await stopAgentProcess(proc);
    await hub.stop();
    await db.close();
  };
  try {
    const hostId = await waitFor(
      'the file agent Up',
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`the agent exited: ${proc.stderr}`);
        const [row] = await db.query<{ id: string }>(`SELECT id FROM hosts WHERE state = 'Up'`);
        return row?.id;
      },
      30_000,
    );
    return {
      db,
      hub,
      hostId,
      clusterId,
      async addPool(id, dir) {
        await db.query(
          `INSERT INTO storage_pools (id, zone_id, cluster_id, name, provider, scope, managed, state, capacity_bytes, capacity_iops, url)
           SELECT $1, zone_id, id, $1, 'qcow2', 'cluster', false, 'Up', 0, 0, $2 FROM clusters WHERE id = $3`,
          [id, `file://${dir}`, clusterId],
        );
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
