import type { Qos, StorageContext } from '@strata/core';
import { CephCli, unlessMissing } from './cli.js';
import { spec } from './names.js';

/** What a volume was created from; part of its idempotency key. */
export type VolumeSource =
  | { readonly kind: 'empty' }
  | { readonly kind: 'snapshot'; readonly id: string }
  | { readonly kind: 'template'; readonly id: string };

/** The creation request, kept on the image so a replay can be compared with it after a restart. */
export interface CreationRecord {
  readonly sizeBytes: number;
  readonly reserve: number;
  readonly source: VolumeSource;
}

export const META_CREATE = 'strata.create';
export const META_QOS = 'strata.qos';

/** The driver's state for one pool: the CLI and the pool name. */
export interface Pool {
  readonly cli: CephCli;
  readonly pool: string;
}

export async function readMeta(ctx: StorageContext, p: Pool, image: string): Promise<Record<string, string>> {
  const meta = await p.cli.rbdJson<Record<string, string> | null>(ctx, [
    'image-meta',
    'list',
    spec(p.pool, image),
  ]);
  return meta ?? {};
}

export async function setMeta(
  ctx: StorageContext,
  p: Pool,
  image: string,
  key: string,
  value: string,
): Promise<void> {
  await p.cli.rbd(ctx, ['image-meta', 'set', spec(p.pool, image), key, value]);
}

/** Removing an absent key is a success: callers replay. */
export async function removeMeta(ctx: StorageContext, p: Pool, image: string, key: string): Promise<void> {
  await unlessMissing(() => p.cli.rbd(ctx, ['image-meta', 'remove', spec(p.pool, image), key]), '');
}

export function parseCreation(meta: Record<string, string>): CreationRecord | null {
  const raw = meta[META_CREATE];
  return raw === undefined ? null : (JSON.parse(raw) as CreationRecord);
}

export function parseQos(meta: Record<string, string>): Qos | null {
  const raw = meta[META_QOS];
  return raw === undefined ? null : (JSON.parse(raw) as Qos);
}

export function sameSource(a: VolumeSource, b: VolumeSource): boolean {
  return a.kind === b.kind && (a.kind === 'empty' || (b.kind !== 'empty' && a.id === b.id));
}
