import { escapeXml, StrataError } from '@strata/core';

/** A file disk of a VM to restore, found by its serial (the volume id), and its new active layer. */
export interface RestoreFile {
  readonly volumeId: string;
  readonly path: string;
}

const unescape = (v: string) =>
  v
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

/** Rewrites one saved file disk onto a new qcow2 file: its source, its format, no recorded chain. */
function repoint(disk: string, path: string): string {
  const first = disk.indexOf('<backingStore');
  const last = disk.lastIndexOf('</backingStore>');
  let d = disk;
  if (first >= 0) {
    const end = last > first ? last + '</backingStore>'.length : d.indexOf('>', first) + 1;
    d = d.slice(0, first) + d.slice(end);
  }
  return d
    .replace(/(<source\b[^>]*?\bfile=)(['"])[^'"]*\2/, `$1'${escapeXml(path)}'`)
    .replace(/(<driver\b[^>]*?\btype=)(['"])[^'"]*\2/, `$1'qcow2'`);
}

const DISK = /<disk\b[^>]*>[\s\S]*?<\/disk>/g;
const isFileDisk = (disk: string) => /^<disk\b[^>]*\btype=['"]file['"]/.test(disk);

/**
 * Points the file disks of a domain XML saved with a memory state at new qcow2 files. libvirt
 * saves the XML as it was before the snapshot's overlays were made, so its file disks name the
 * snapshot's frozen images: a restore must never write to those. The disk's recorded backing
 * chain is dropped (QEMU reads the new file's own). Every requested volume must be a file disk of
 * the XML; network disks stay as saved.
 */
export function pointFileDisks(xml: string, files: readonly RestoreFile[]): string {
  const pending = new Map(files.map((f) => [f.volumeId, f.path]));
  const out = xml.replace(DISK, (disk) => {
    const raw = /<serial>([^<]*)<\/serial>/.exec(disk)?.[1];
    const serial = raw === undefined ? undefined : unescape(raw);
    const path = serial === undefined ? undefined : pending.get(serial);
    if (path === undefined || serial === undefined) return disk;
    if (!isFileDisk(disk)) {
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'disks',
        reason: `volume ${serial} is not a file disk in the saved state`,
      });
    }
    pending.delete(serial);
    return repoint(disk, path);
  });
  if (pending.size > 0) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'disks',
      reason: `no disk with serial ${[...pending.keys()].join(', ')} in the saved state`,
    });
  }
  return out;
}

/** The same, for file disks found by the image they name in the saved XML (old path to new). */
export function pointFileSources(xml: string, moves: ReadonlyMap<string, string>): string {
  return xml.replace(DISK, (disk) => {
    const raw = /<source\b[^>]*?\bfile=(['"])([^'"]*)\1/.exec(disk)?.[2];
    const path = raw === undefined || !isFileDisk(disk) ? undefined : moves.get(unescape(raw));
    return path === undefined ? disk : repoint(disk, path);
  });
}
