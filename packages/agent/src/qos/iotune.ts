import { StrataError, type IoTune } from '@strata/core';
import type { Virsh } from '../virsh/virsh.js';

export interface IoTuneResult {
  readonly iotune: IoTune;
  readonly setMs: number;
}

/** Parses `virsh blkdeviotune` output ("total_iops_sec: 200" lines). */
export function parseIoTune(text: string): IoTune {
  const v = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\w+)\s*:\s*(\d+)\s*$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) v.set(m[1], Number(m[2]));
  }
  const opt = (k: string): number | undefined => {
    const n = v.get(k);
    return n === undefined || n === 0 ? undefined : n;
  };
  const out: { -readonly [K in keyof IoTune]: IoTune[K] } = { totalIopsSec: v.get('total_iops_sec') ?? 0 };
  const max = opt('total_iops_sec_max');
  const length = opt('total_iops_sec_max_length');
  const bytes = opt('total_bytes_sec');
  if (max !== undefined) out.totalIopsSecMax = max;
  if (length !== undefined) out.totalIopsSecMaxLength = length;
  if (bytes !== undefined) out.totalBytesSec = bytes;
  return out;
}

function same(a: IoTune, b: IoTune): boolean {
  return (
    a.totalIopsSec === b.totalIopsSec &&
    (a.totalIopsSecMax ?? undefined) === (b.totalIopsSecMax ?? undefined) &&
    (a.totalIopsSecMaxLength ?? undefined) === (b.totalIopsSecMaxLength ?? undefined) &&
    (a.totalBytesSec ?? undefined) === (b.totalBytesSec ?? undefined)
  );
}

function validate(t: IoTune): void {
  for (const [field, n] of Object.entries(t)) {
    if (n !== undefined && (!Number.isInteger(n) || (n as number) < 0)) {
      throw new StrataError('INVALID_ARGUMENT', { field, reason: 'must be a whole number ≥ 0' });
    }
  }
  if (t.totalIopsSecMax !== undefined && t.totalIopsSecMax > 0 && t.totalIopsSecMax < t.totalIopsSec) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'totalIopsSecMax',
      reason: 'burst must not be below the max',
    });
  }
  if (
    t.totalIopsSecMaxLength !== undefined &&
    t.totalIopsSecMaxLength > 0 &&
    !(t.totalIopsSecMax !== undefined && t.totalIopsSecMax > 0)
  ) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'totalIopsSecMaxLength',
      reason: 'needs a burst (totalIopsSecMax)',
    });
  }
}

export async function getIoTune(virsh: Virsh, vm: string, target: string): Promise<IoTune> {
  return parseIoTune(
    await virsh.run(['blkdeviotune', '--domain', vm, '--device', target, '--live'], { vm, target }),
  );
}

/**
 * Sets front-end QoS live (total_iops_sec = max, total_iops_sec_max = burst,
 * total_iops_sec_max_length = burst seconds, bytes optional), reads it back, and fails with
 * IOTUNE_MISMATCH when what is in force differs from what was asked.
 */
export async function setIoTune(
  virsh: Virsh,
  vm: string,
  target: string,
  t: IoTune,
  persist = true,
): Promise<IoTuneResult> {
  validate(t);
  const args = ['blkdeviotune', '--domain', vm, '--device', target, '--live'];
  if (persist) args.push('--config');
  args.push('--total-iops-sec', String(t.totalIopsSec));
  args.push('--total-iops-sec-max', String(t.totalIopsSecMax ?? 0));
  args.push('--total-iops-sec-max-length', String(t.totalIopsSecMaxLength ?? 0));
  args.push('--total-bytes-sec', String(t.totalBytesSec ?? 0));
  const t0 = performance.now();
  await virsh.run(args, { vm, target });
  const setMs = performance.now() - t0;
  const actual = await getIoTune(virsh, vm, target);
  const expected: IoTune = {
    totalIopsSec: t.totalIopsSec,
    totalIopsSecMax: t.totalIopsSecMax || undefined,
    totalIopsSecMaxLength: t.totalIopsSecMaxLength || undefined,
    totalBytesSec: t.totalBytesSec || undefined,
  };
  if (!same(actual, expected)) {
    throw new StrataError('IOTUNE_MISMATCH', {
      vm,
      target,
      actual: JSON.stringify(actual),
      expected: JSON.stringify(expected),
    });
  }
  return { iotune: actual, setMs };
}
