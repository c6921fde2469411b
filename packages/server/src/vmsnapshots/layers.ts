import { basename } from 'node:path';
import { StrataError } from '@strata/core';
import type { Queryable } from '../db/index.js';
import type { HostFiles } from '../orchestration/host-files.js';

/**
 * Every file a qcow2 layer stands on, itself first, read by an agent that mounts its pool (-U: a
 * running QEMU may hold it); none for a file that is gone. A chain that cannot be read (a missing
 * backing file, an I/O error) throws: callers decide from it what nothing uses, and "unreadable"
 * must never pass for "stands on nothing".
 */
export async function backingChain(files: HostFiles, path: string): Promise<string[]> {
  try {
    return ((await files.chain(path)) ?? []).map((l) => l.path);
  } catch (e) {
    throw new StrataError('INTERNAL', { reason: `cannot read the backing chain of ${path}` }, { cause: e });
  }
}

/**
 * The layers of a volume that Strata made (`<volume>.<snapshot>.qcow2`), in a file's backing
 * chain: what a snapshot's delete may have to drop. The volume's own `<volume>.qcow2` is the
 * driver's and never among them.
 */
export async function snapshotLayersUnder(
  files: HostFiles,
  volumeId: string,
  path: string,
): Promise<string[]> {
  const own = (f: string) => basename(f).startsWith(`${volumeId}.`) && basename(f) !== `${volumeId}.qcow2`;
  // An unreadable chain offers only the file itself: fewer candidates, never more.
  return (await backingChain(files, path).catch(() => [path])).filter(own);
}

/**
 * Every file a volume still needs: the chains under its active layer and under each of its
 * snapshots that is not deleted. Read from the database as it is now, so a delete that ran before
 * (or a replay of this one) only ever narrows it.
 */
export async function layersInUse(db: Queryable, files: HostFiles, volumeId: string): Promise<Set<string>> {
  const roots = [
    ...(await db.query('SELECT backend_ref FROM volumes WHERE id = $1', [volumeId])),
    ...(await db.query(
      `SELECT backend_ref FROM volume_snapshots WHERE volume_id = $1 AND state <> 'Deleted'`,
      [volumeId],
    )),
  ].flatMap((r) => {
    const ref = r['backend_ref'];
    // Storage-taken parts are named by their backend, not by a path: no chain to read.
    return typeof ref === 'string' && ref.startsWith('/') ? [ref] : [];
  });
  const used = new Set<string>();
  for (const root of new Set(roots)) for (const f of await backingChain(files, root)) used.add(f);
  return used;
}
