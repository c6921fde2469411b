export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
/** Largest volume accepted: 64 TiB. */
export const MAX_VOLUME_BYTES = 64 * 1024 * GiB;
