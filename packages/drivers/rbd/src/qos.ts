import { StrataError, type Qos, type StorageContext } from '@strata/core';
import { unlessMissing } from './cli.js';
import type { Pool } from './meta.js';
import { spec } from './names.js';

/**
 * Back-end QoS through librbd's own throttle (enforced in every librbd client, QEMU included):
 * max → rbd_qos_iops_limit, burst → rbd_qos_iops_burst, burst length → rbd_qos_iops_burst_seconds,
 * bytes → rbd_qos_bps_limit. librbd has no minimum: min IOPS is kept for admission only.
 */
export function rbdQosSettings(qos: Qos | null): Record<string, string> {
  return {
    rbd_qos_iops_limit: String(qos?.maxIops ?? 0),
    rbd_qos_iops_burst: String(qos?.burstIops ?? 0),
    rbd_qos_iops_burst_seconds: String(qos ? rbdBurstSeconds(qos) : 1),
    rbd_qos_bps_limit: String(qos?.maxBytesPerSec ?? 0),
  };
}

/**
 * librbd's bucket holds burst × burst_seconds tokens and refills at the limit, so a full-speed
 * burst lasts burst × s / (burst − max) seconds. Our burstSeconds is how long the burst lasts
 * (libvirt's total_iops_sec_max_length), hence s = T × (burst − max) / burst, a whole number ≥ 1.
 */
export function rbdBurstSeconds(qos: Qos): number {
  if (qos.burstIops <= qos.maxIops || qos.burstSeconds <= 0) return 1;
  return Math.max(1, Math.round((qos.burstSeconds * (qos.burstIops - qos.maxIops)) / qos.burstIops));
}

interface ConfigEntry {
  readonly name: string;
  readonly value: string;
  readonly source: string;
}

/** The QoS settings as librbd will apply them to this image (image level over pool/global). */
export async function readRbdQos(
  ctx: StorageContext,
  p: Pool,
  image: string,
): Promise<Record<string, string>> {
  const list = await p.cli.rbdJson<ConfigEntry[]>(ctx, ['config', 'image', 'list', spec(p.pool, image)]);
  const wanted = Object.keys(rbdQosSettings(null));
  return Object.fromEntries(list.filter((c) => wanted.includes(c.name)).map((c) => [c.name, c.value]));
}

/** Sets the image's QoS (or clears it back to unlimited), then reads it back and checks it. */
export async function applyRbdQos(
  ctx: StorageContext,
  p: Pool,
  image: string,
  qos: Qos | null,
): Promise<void> {
  const want = rbdQosSettings(qos);
  for (const [key, value] of Object.entries(want)) {
    if (qos === null) {
      await unlessMissing(() => p.cli.rbd(ctx, ['config', 'image', 'remove', spec(p.pool, image), key]), '');
    } else {
      await p.cli.rbd(ctx, ['config', 'image', 'set', spec(p.pool, image), key, value]);
    }
  }
  const got = await readRbdQos(ctx, p, image);
  for (const [key, value] of Object.entries(want)) {
    if (got[key] !== value) {
      throw new StrataError('STORAGE_BACKEND_FAILED', {
        backend: 'rbd',
        operation: 'set qos',
        reason: `${key} reads back ${got[key] ?? 'nothing'}, expected ${value}`,
      });
    }
  }
}
