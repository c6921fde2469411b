import { StrataError, validateHostPath, type StorageContext, type TemplateRef } from '@strata/core';
import { ENOENT, errnoOf, unlessMissing } from './cli.js';
import type { Pool } from './meta.js';
import { imageName, spec } from './names.js';
import { locateSnapshot, type SnapshotDeps } from './snapshots.js';
import { imageInfo } from './volumes.js';

const IMPORT_TIMEOUT_MS = 30 * 60_000;

/** A copy-on-write clone (format 2: the parent snapshot needs no protection and may be deleted later). */
export async function cloneFromSnapshot(
  ctx: StorageContext,
  d: SnapshotDeps,
  snapshotId: string,
  volumeId: string,
  sizeBytes: number,
): Promise<void> {
  const found = await locateSnapshot(ctx, d, snapshotId);
  if (!found) throw new StrataError('NOT_FOUND', { kind: 'snapshot', id: snapshotId });
  if (sizeBytes < found.snap.size) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'sizeBytes',
      reason: `must be at least the snapshot's ${found.snap.size} bytes`,
    });
  }
  await d.cli.rbd(ctx, [
    'clone',
    '--rbd-default-clone-format',
    '2',
    spec(d.pool, imageName(found.volumeId), found.snap.name),
    spec(d.pool, imageName(volumeId)),
  ]);
}

/** Grows a fresh image to the asked size when its source was smaller. */
export async function growTo(
  ctx: StorageContext,
  p: Pool,
  volumeId: string,
  sizeBytes: number,
): Promise<void> {
  const info = await imageInfo(ctx, p, imageName(volumeId));
  if (info && info.size < sizeBytes) {
    await p.cli.rbd(ctx, [
      'resize',
      '--no-progress',
      '--size',
      `${sizeBytes}B`,
      spec(p.pool, imageName(volumeId)),
    ]);
  }
}

/** QEMU's rbd filename syntax escapes ':' (its option separator) with a backslash. */
function qemuRbdFilename(p: Pool, image: string): string {
  const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  const { confPath, keyringPath, clientId } = p.cli.access;
  return `rbd:${esc(p.pool)}/${esc(image)}:id=${esc(clientId)}:conf=${esc(confPath)}:keyring=${esc(keyringPath)}`;
}

async function templateSize(ctx: StorageContext, p: Pool, t: TemplateRef): Promise<number> {
  const out = await p.cli
    .exec(ctx, 'qemu-img', ['info', '--output', 'json', '-f', t.format, t.path], 'template info')
    .catch((err: unknown) => {
      throw new StrataError('NOT_FOUND', { kind: 'template', id: t.id }, { cause: err });
    });
  return (JSON.parse(out) as { 'virtual-size': number })['virtual-size'];
}

/**
 * Writes a template into a temporary image, then renames it into place: a volume never exists
 * half-imported, and a replay after a crash starts the copy over.
 */
export async function importTemplate(
  ctx: StorageContext,
  p: Pool,
  t: TemplateRef,
  volumeId: string,
  sizeBytes: number,
): Promise<void> {
  // qemu-img and rbd import read a `-…` name as an option (and rbd import `-` as stdin)
  validateHostPath('template.path', t.path);
  const virtual = await templateSize(ctx, p, t);
  if (sizeBytes < virtual) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'sizeBytes',
      reason: `must be at least the template's ${virtual} bytes`,
    });
  }
  const tmp = `tmp-${volumeId}`;
  await unlessMissing(() => p.cli.rbd(ctx, ['rm', '--no-progress', spec(p.pool, tmp)]), '');
  if (t.format === 'raw') {
    await p.cli.run(
      ctx,
      'rbd',
      ['import', '--no-progress', '--image-format', '2', t.path, spec(p.pool, tmp)],
      'import',
      IMPORT_TIMEOUT_MS,
    );
  } else {
    await p.cli.exec(
      ctx,
      'qemu-img',
      ['convert', '-f', 'qcow2', '-O', 'raw', t.path, qemuRbdFilename(p, tmp)],
      'template convert',
      IMPORT_TIMEOUT_MS,
    );
  }
  await p.cli.rbd(ctx, ['rename', spec(p.pool, tmp), spec(p.pool, imageName(volumeId))]);
}

/** Copies a clone's parent blocks into it, cutting the tie to the parent snapshot. */
export async function flatten(ctx: StorageContext, p: Pool, volumeId: string): Promise<boolean> {
  const info = await imageInfo(ctx, p, imageName(volumeId));
  if (!info) throw new StrataError('NOT_FOUND', { kind: 'volume', id: volumeId });
  if (!info.parent) return false;
  try {
    await p.cli.run(
      ctx,
      'rbd',
      ['flatten', '--no-progress', spec(p.pool, imageName(volumeId))],
      'flatten',
      IMPORT_TIMEOUT_MS,
    );
  } catch (err) {
    if (errnoOf(err) !== ENOENT) throw err;
  }
  return true;
}
