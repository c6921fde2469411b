import { defineErrors } from './spec.js';

/** Errors of the storage area (driver contract: docs/spec/storage-driver.md). */
export const storageErrors = defineErrors('storage', {
  STORAGE_DRIVER_NOT_FOUND: {
    status: 404,
    retryable: false,
    message: 'No storage driver named {name} is registered',
    recovery: 'Check the pool name; the pool may have been removed or its driver failed to load.',
  },
  STORAGE_UNSUPPORTED: {
    status: 501,
    retryable: false,
    message: 'Storage driver {driver} does not support {operation}',
    recovery:
      'Read the driver capabilities first; use another path (e.g. hypervisor snapshots) or another pool.',
  },
  STORAGE_ID_CONFLICT: {
    status: 409,
    retryable: false,
    message: '{kind} {id} already exists with different parameters: {reason}',
    recovery: 'An id is an idempotency key: replay the first request unchanged, or use a new id.',
  },
  STORAGE_SHRINK_REFUSED: {
    status: 400,
    retryable: false,
    message: 'Volume {id} cannot shrink from {from} to {to} bytes',
    recovery: 'Volumes only grow; create a smaller volume and copy the data if you need less space.',
  },
  STORAGE_IOPS_EXHAUSTED: {
    status: 409,
    retryable: false,
    message: 'Pool {pool} cannot admit {requested} minimum IOPS; {available} remain',
    recovery: 'Lower the minimum IOPS, free IOPS by deleting or re-tuning volumes, or choose another pool.',
  },
  STORAGE_CAPACITY_EXHAUSTED: {
    status: 507,
    retryable: false,
    message: 'Pool {pool} cannot hold {requested} more bytes; {available} remain',
    recovery: 'Free space in the pool, choose a smaller size, or choose another pool.',
  },
  STORAGE_PLACEMENT_EXHAUSTED: {
    status: 507,
    retryable: false,
    message: 'No storage pool can hold a volume of {requested} bytes with {minIops} minimum IOPS: {reasons}',
    recovery:
      'Free space or IOPS in a pool, add a pool (with an IOPS capacity for a QoS offering), or name a pool.',
  },
  STORAGE_IN_USE: {
    status: 409,
    retryable: true,
    message: '{kind} {id} is in use: {reason}',
    recovery: 'Revoke access, detach, or delete the dependent snapshots and clones first, then retry.',
  },
  STORAGE_ACCESS_REQUIRED: {
    status: 400,
    retryable: false,
    message: 'Host {host} lacks {what} needed for access to pool {pool}',
    recovery: "Register the host's iSCSI initiator name (or key) and grant again.",
  },
  STORAGE_BACKEND_FAILED: {
    status: 502,
    retryable: true,
    message: 'Storage backend {backend} failed during {operation}: {reason}',
    recovery: 'Retry with back-off (the call is idempotent on its ids); if it persists, check the backend.',
  },
  STORAGE_CANCELLED: {
    status: 499,
    retryable: true,
    message: 'Storage operation {what} was cancelled',
    recovery: 'Retry the same call with the same ids: it completes or cleans up what was left.',
  },
});
