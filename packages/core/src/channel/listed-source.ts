import type { DiskSource } from './commands.js';

/**
 * How libvirt's `domblklist` (and so a domain report) names a disk's source: a file's path, an RBD
 * image as pool/image, a LUN as iqn/lun. Tells which volume a running disk is on.
 */
export function listedSource(s: DiskSource): string {
  switch (s.kind) {
    case 'file':
      return s.path;
    case 'rbd':
      return `${s.pool}/${s.image}`;
    case 'iscsi':
      return `${s.iqn}/${s.lun}`;
  }
}
