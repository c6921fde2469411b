import { escapeXml, StrataError } from '@strata/core';

export interface OverlaySpec {
  /** Disk target (vda, vdb…). */
  readonly target: string;
  /** New qcow2 overlay file that takes the writes from now on. */
  readonly overlayPath: string;
}

/**
 * A <domainsnapshot> document: listed disks get an external qcow2 overlay, every other disk of
 * the domain is explicitly left out (snapshot='no'). Paths go through escapeXml, never through
 * virsh's comma-separated --diskspec syntax.
 */
export function snapshotXml(
  name: string,
  allTargets: readonly string[],
  overlays: readonly OverlaySpec[],
  memoryPath?: string,
): string {
  const chosen = new Map(overlays.map((o) => [o.target, o]));
  for (const o of overlays) {
    if (!allTargets.includes(o.target))
      throw new StrataError('INVALID_ARGUMENT', { field: 'disks', reason: `the VM has no disk ${o.target}` });
  }
  if (chosen.size !== overlays.length)
    throw new StrataError('INVALID_ARGUMENT', { field: 'disks', reason: 'a target is listed twice' });
  const disks = allTargets
    .map((t) => {
      const o = chosen.get(t);
      return o === undefined
        ? `<disk name='${escapeXml(t)}' snapshot='no'/>`
        : `<disk name='${escapeXml(t)}' snapshot='external' type='file'><driver type='qcow2'/><source file='${escapeXml(o.overlayPath)}'/></disk>`;
    })
    .join('');
  const memory =
    memoryPath !== undefined
      ? `<memory snapshot='external' file='${escapeXml(memoryPath)}'/>`
      : `<memory snapshot='no'/>`;
  return `<domainsnapshot><name>${escapeXml(name)}</name>${memory}<disks>${disks}</disks></domainsnapshot>`;
}
