import { join } from 'node:path';
import type { Queryable } from '../db/index.js';
import type { AgentPort } from '../orchestration/agent-port.js';
import { hostFiles } from '../orchestration/host-files.js';
import { storeListers } from '../vmsnapshots/memory-store.js';
import type { References } from './references.js';
import { orphan, type Orphan } from './types.js';

const MEMORY_STATE = /^([^.]+)\.([^.]+)\.memory$/;

/**
 * Memory states (`<vm>.<snapshot>.memory`) in the snapshot stores the Up hosts mount, as one
 * agent per store and zone lists them, that no VM snapshot records. Files of VMs this database
 * does not know are left alone (another installation may share the store), and so are those of
 * VMs a live job works on. Each orphan names the host whose agent removes it.
 */
export async function strayMemoryStates(
  db: Queryable,
  agent: AgentPort,
  refs: References,
  warnings: string[],
): Promise<Orphan[]> {
  const out: Orphan[] = [];
  for (const { store, hostId } of await storeListers(db)) {
    const names = await hostFiles(agent, hostId)
      .list(store)
      .catch((e: unknown) => {
        warnings.push(`host ${hostId} cannot list the snapshot store ${store}: ${String(e)}`);
        return null;
      });
    for (const name of names ?? []) {
      const [, vmId, snapshotId] = MEMORY_STATE.exec(name) ?? [];
      if (!vmId || !snapshotId || !refs.knownVms.has(vmId) || refs.busyVms.has(vmId)) continue;
      const path = join(store, name);
      if (refs.memoryFiles.has(path)) continue;
      out.push(
        orphan('file', path, 'a memory state in the snapshot store that no VM snapshot records', {
          vmSnapshotId: snapshotId,
          hostId,
        }),
      );
    }
  }
  return out;
}
