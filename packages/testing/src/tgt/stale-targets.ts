import { access } from 'node:fs/promises';
import { run } from './run.js';

/** tid and LUN backing files of each target tgtd serves (`tgtadm --op show --mode target`). */
export function targetBackings(text: string): Array<{ tid: number; files: string[] }> {
  const out: Array<{ tid: number; files: string[] }> = [];
  for (const line of text.split('\n')) {
    const target = /^Target (\d+):/.exec(line);
    if (target) out.push({ tid: Number(target[1]), files: [] });
    const backing = /^\s+Backing store path: (\/.*)$/.exec(line);
    if (backing?.[1]) out.at(-1)?.files.push(backing[1]);
  }
  return out;
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * Deletes the targets whose every LUN file is gone: what a test leaves when it throws its pool
 * directory away without deleting its volumes through Strata. tgtd keeps such targets (and their
 * I/O threads) for as long as it runs, and a full run makes hundreds. A target with no LUN yet is
 * being made by someone: left alone. Answers how many were deleted.
 */
export async function sweepStaleTargets(): Promise<number> {
  const { stdout } = await run('tgtadm', ['--lld', 'iscsi', '--op', 'show', '--mode', 'target'], 30_000);
  let deleted = 0;
  for (const t of targetBackings(stdout)) {
    if (t.files.length === 0) continue;
    const present = await Promise.all(t.files.map(exists));
    if (present.some(Boolean)) continue;
    // --force: a session left by a killed QEMU must not keep the target.
    await run('tgtadm', [
      '--lld',
      'iscsi',
      '--op',
      'delete',
      '--mode',
      'target',
      '--tid',
      String(t.tid),
      '--force',
    ])
      .then(() => deleted++)
      .catch(() => undefined); // deleted meanwhile by its owner or another sweep
  }
  return deleted;
}
