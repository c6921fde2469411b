import { StrataError } from '../errors/strata-error.js';

/** Per-volume QoS (DESIGN.md section 5). IOPS limits; byte limits are optional. */
export interface Qos {
  readonly minIops: number;
  readonly maxIops: number;
  readonly burstIops: number;
  /** How long a burst may last, in seconds. */
  readonly burstSeconds: number;
  readonly maxBytesPerSec?: number;
}

/** Largest IOPS figure accepted anywhere (SolidFire's public upper bound). */
export const MAX_IOPS = 200_000;

/** Checks min ≤ max ≤ burst and sane bounds; throws INVALID_ARGUMENT naming the field. */
export function validateQos(qos: Qos): Qos {
  const bad = (field: string, reason: string): never => {
    throw new StrataError('INVALID_ARGUMENT', { field, reason });
  };
  for (const [field, v] of Object.entries({
    minIops: qos.minIops,
    maxIops: qos.maxIops,
    burstIops: qos.burstIops,
    burstSeconds: qos.burstSeconds,
  })) {
    if (!Number.isInteger(v) || v < 0) bad(field, 'must be a whole number ≥ 0');
    if (v > MAX_IOPS && field !== 'burstSeconds') bad(field, `must be at most ${MAX_IOPS}`);
  }
  if (qos.maxIops === 0) bad('maxIops', 'must be greater than 0');
  if (qos.minIops > qos.maxIops) bad('minIops', 'must not exceed maxIops');
  if (qos.maxIops > qos.burstIops) bad('maxIops', 'must not exceed burstIops');
  if (qos.burstSeconds > 3600) bad('burstSeconds', 'must be at most 3600');
  return qos;
}
