import { StrataError } from '../errors/strata-error.js';
import { validateQos, type Qos } from '../domain/qos.js';
import { MAX_VOLUME_BYTES } from '../domain/units.js';

/**
 * Ids the caller gives become file names, IQN parts and image names, so they are held to a
 * small alphabet every backend accepts (a UUID fits). Names users type never reach a driver.
 */
const ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

export function validateStorageId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !ID.test(value)) {
    throw new StrataError('INVALID_ARGUMENT', {
      field,
      reason: 'must be 1–64 characters of a-z, 0-9 and "-", starting with a letter or digit',
    });
  }
  return value;
}

/**
 * A host file a driver hands to a command line tool (a template for `qemu-img convert`, `rbd
 * import`). It must be absolute: a path starting with `-` would be read as an option (qemu-img
 * takes no `--` before its file names), and one like `nbd:…` or `json:{…}` as a protocol.
 * The server checks template paths when they are registered; this is the drivers' own guard.
 */
export function validateHostPath(field: string, value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.includes('\0') || value.includes('\n')) {
    throw new StrataError('INVALID_ARGUMENT', {
      field,
      reason: 'must be an absolute path (starting with "/", no NUL or newline)',
    });
  }
  return value;
}

/** Volume sizes: whole bytes, above zero, at most MAX_VOLUME_BYTES, a multiple of `align`. */
export function validateSize(field: string, value: unknown, align = 512): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new StrataError('INVALID_ARGUMENT', { field, reason: 'must be a whole number of bytes above 0' });
  }
  if (value > MAX_VOLUME_BYTES) {
    throw new StrataError('INVALID_ARGUMENT', { field, reason: `must be at most ${MAX_VOLUME_BYTES} bytes` });
  }
  if (value % align !== 0) {
    throw new StrataError('INVALID_ARGUMENT', { field, reason: `must be a multiple of ${align} bytes` });
  }
  return value;
}

export function validateReserve(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 100) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'hypervisorSnapshotReserve',
      reason: 'must be a whole percent from 0 to 100',
    });
  }
  return value;
}

export function validateOptionalQos(qos: Qos | null | undefined): Qos | null {
  return qos === undefined || qos === null ? null : validateQos(qos);
}

/** Bytes the pool accounts for a volume: its size plus the hypervisor snapshot reserve. */
export function provisionedBytes(sizeBytes: number, reservePercent: number): number {
  return sizeBytes + Math.ceil((sizeBytes * reservePercent) / 100);
}

/** Refuses a volume whose min IOPS do not fit the pool (STORAGE_IOPS_EXHAUSTED). */
export function admitIops(pool: string, capacityIops: number, usedIops: number, addedMinIops: number): void {
  if (capacityIops <= 0 || addedMinIops <= 0) return;
  if (usedIops + addedMinIops > capacityIops) {
    throw new StrataError('STORAGE_IOPS_EXHAUSTED', {
      pool,
      requested: addedMinIops,
      available: Math.max(0, capacityIops - usedIops),
    });
  }
}

/** Shorthand for the canonical NOT_FOUND of a volume or snapshot. */
export function notFound(kind: 'volume' | 'snapshot' | 'template' | 'vm snapshot', id: string): StrataError {
  return new StrataError('NOT_FOUND', { kind, id });
}

/** Throws the canonical abort error when the caller's signal has fired. */
export function throwIfAborted(signal: AbortSignal, what: string): void {
  if (signal.aborted) throw new StrataError('STORAGE_CANCELLED', { what });
}
