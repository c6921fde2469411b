import { StrataError } from '@strata/core';
import { missingTags } from '../storage-tags.js';

/** A pool as placement weighs it: state, scope and what is left of its capacity. */
export interface PoolLoad {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly zoneId: string;
  readonly capacityBytes: number;
  readonly usedBytes: number;
  /** 0: the pool promises no IOPS budget (admission does not count IOPS there). */
  readonly capacityIops: number;
  readonly usedMinIops: number;
  /** Storage tags the pool carries. */
  readonly storageTags?: readonly string[];
}

export interface VolumeNeed {
  readonly zoneId?: string;
  readonly sizeBytes: number;
  readonly minIops: number;
  /** The disk offering's storage tags: a pool must carry every one. */
  readonly storageTags?: readonly string[];
}

export interface PoolChoice {
  readonly poolId: string;
  /** Why this pool, in words an operator reads in the volume's details. */
  readonly reason: string;
}

const GiB = 1024 ** 3;
const gib = (b: number): string => `${(b / GiB).toFixed(b % GiB === 0 ? 0 : 1)} GiB`;

/** Why a pool cannot take the volume, or null when it can. */
function refusal(p: PoolLoad, need: VolumeNeed): string | null {
  if (p.state !== 'Up') return `${p.state}, not Up`;
  if (need.zoneId !== undefined && p.zoneId !== need.zoneId) return 'in another zone';
  const lacking = missingTags(need.storageTags ?? [], p.storageTags ?? []);
  if (lacking.length > 0) return `lacks the offering's storage tags ${lacking.join(', ')}`;
  const freeBytes = p.capacityBytes - p.usedBytes;
  if (need.sizeBytes > freeBytes) return `${gib(Math.max(0, freeBytes))} free, ${gib(need.sizeBytes)} needed`;
  if (need.minIops > 0) {
    // A minimum IOPS is a guarantee: only a pool that promises an IOPS budget can give it.
    if (p.capacityIops === 0) return 'promises no IOPS, the offering guarantees a minimum';
    const freeIops = p.capacityIops - p.usedMinIops;
    if (need.minIops > freeIops) return `${Math.max(0, freeIops)} IOPS free, ${need.minIops} minimum needed`;
  }
  return null;
}

/**
 * CloudStack's allocator, for a volume whose caller named no pool: the Up pools of the zone that
 * carry the offering's storage tags, have room for its bytes and, with a minimum IOPS, the IOPS budget to guarantee it (min-IOPS
 * admission, as the service admits it). Among those, the most free IOPS when IOPS are guaranteed,
 * else the most free bytes; ties by id, so the choice is repeatable.
 */
export function choosePool(pools: readonly PoolLoad[], need: VolumeNeed): PoolChoice {
  const refused: string[] = [];
  const fit: PoolLoad[] = [];
  for (const p of pools) {
    const why = refusal(p, need);
    if (why === null) fit.push(p);
    else refused.push(`${p.name}: ${why}`);
  }
  const byIops = need.minIops > 0;
  const score = (p: PoolLoad) => (byIops ? p.capacityIops - p.usedMinIops : p.capacityBytes - p.usedBytes);
  fit.sort((a, b) => score(b) - score(a) || a.id.localeCompare(b.id));
  const best = fit[0];
  if (!best)
    throw new StrataError('STORAGE_PLACEMENT_EXHAUSTED', {
      requested: need.sizeBytes,
      minIops: need.minIops,
      reasons: refused.length > 0 ? refused.join('; ') : 'there is no storage pool',
    });
  const free = byIops
    ? `${best.capacityIops - best.usedMinIops} of ${best.capacityIops} IOPS free for a minimum of ${need.minIops}`
    : `${gib(best.capacityBytes - best.usedBytes)} of ${gib(best.capacityBytes)} free for ${gib(need.sizeBytes)}`;
  const others = fit.length - 1;
  const tags = need.storageTags ?? [];
  return {
    poolId: best.id,
    reason:
      `placed in ${best.name}: ${free}` +
      (tags.length > 0 ? `; carries the offering's storage tags ${tags.join(', ')}` : '') +
      (others > 0
        ? `; the most ${byIops ? 'free IOPS' : 'free space'} of ${fit.length} pools that fit`
        : '') +
      (refused.length > 0 ? `; refused ${refused.join('; ')}` : ''),
  };
}
