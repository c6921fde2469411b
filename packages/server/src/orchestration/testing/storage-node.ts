import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CHANNEL_PATH } from '@strata/core';
import type { AgentHub } from '../../agents/hub.js';
import {
  startAgentProcess,
  stopAgentProcess,
  type AgentProcess,
} from '../../agents/testing/agent-process.js';

/**
 * Joins the shipped agent in the storage role only (it needs no libvirt) to `hub`'s cluster,
 * serving the pools at or below `poolDirs`: the server runs every qcow2 and tgt driver call there
 * (ADR 0003), so a whole-server test with such pools and no KVM host needs one. Resolves once it is
 * connected. Test support, not product code.
 */
export async function joinStorageNode(
  hub: AgentHub,
  opts: { readonly clusterId: string; readonly dir: string; readonly poolDirs: readonly string[] },
): Promise<{ readonly hostId: string; readonly proc: AgentProcess; stop(): Promise<void> }> {
  const { token, fingerprint } = await hub.issueRegistrationToken(opts.clusterId);
  const stateDir = join(opts.dir, 'storage-node');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  let off: () => unknown = () => undefined;
  const connected = new Promise<string>((resolve) => {
    off = hub.onConnection((id, up) => {
      if (up) resolve(id);
    });
  });
  const proc = startAgentProcess('main', {
    STRATA_SERVER_URL: `wss://127.0.0.1:${hub.port}${CHANNEL_PATH}`,
    STRATA_SERVER_FINGERPRINT: fingerprint,
    STRATA_REGISTRATION_TOKEN: token,
    STRATA_AGENT_STATE_DIR: stateDir,
    STRATA_AGENT_ROLES: 'storage',
    STRATA_AGENT_POOL_DIRS: opts.poolDirs.join(':'),
  });
  // An exit before it connects fails the start; one after it (the test's own stop) is nobody's error.
  let up = false;
  const exited = proc.exited.then((code) => {
    if (!up) throw new Error(`the storage node exited (${code}): ${proc.stderr}`);
    return '';
  });
  try {
    const hostId = await Promise.race([connected, exited]);
    up = true;
    return { hostId, proc, stop: () => stopAgentProcess(proc) };
  } catch (e) {
    await stopAgentProcess(proc);
    throw e;
  } finally {
    off();
  }
}
