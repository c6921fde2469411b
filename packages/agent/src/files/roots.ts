import { lstat, realpath } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import { StrataError } from '@strata/core';

/**
 * The directories whose files this agent works on for the server: its host state directory and
 * the pool directories the machine mounts or holds (STRATA_AGENT_POOL_DIRS). Anything else is refused: the server names paths,
 * and a path it names must never reach outside them.
 */
export interface FileRoots {
  readonly roots: readonly string[];
}

const refuse = (path: unknown, reason: string): StrataError =>
  new StrataError('FILE_PATH_REFUSED', { path: String(path), reason });

/** A root as configured: absolute, normalized, not `/` itself (that would serve every file). */
export function fileRoots(dirs: readonly string[]): FileRoots {
  const roots: string[] = [];
  for (const d of dirs) {
    const dir = d.length > 1 && d.endsWith('/') ? d.slice(0, -1) : d;
    if (!posix.isAbsolute(dir) || posix.normalize(dir) !== dir || dir === '/' || dir.includes('\0')) {
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'servedDirs',
        reason: `"${d}" is not an absolute, normalized directory other than /`,
      });
    }
    if (!roots.includes(dir)) roots.push(dir);
  }
  return { roots };
}

/**
 * Checks a path the server named, by its text alone: absolute, normalized (no `..`, `.`, `//`, no
 * trailing `/`), and strictly under one of the roots (`dirOk`: or a root itself, for listings).
 * Answers the root it lies under.
 */
export function checkPathText(served: FileRoots, path: unknown, dirOk = false): string {
  if (typeof path !== 'string' || path.length === 0) throw refuse(path, 'not a path');
  if (path.includes('\0')) throw refuse(path, 'holds a NUL byte');
  if (!posix.isAbsolute(path)) throw refuse(path, 'not absolute');
  if (posix.normalize(path) !== path || (path.length > 1 && path.endsWith('/'))) {
    throw refuse(path, 'not normalized (".", "..", "//" or a trailing "/")');
  }
  const root = served.roots.find((r) => path.startsWith(`${r}/`) || (dirOk && path === r));
  if (!root) throw refuse(path, `not under a directory this agent serves (${served.roots.join(', ')})`);
  return root;
}

/** A path a file command reads: absolute and normalized, anywhere (a backing file is only read). */
export function checkReadPath(path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) throw refuse(path, 'not a path');
  if (path.includes('\0')) throw refuse(path, 'holds a NUL byte');
  if (!posix.isAbsolute(path) || posix.normalize(path) !== path || path.endsWith('/')) {
    throw refuse(path, 'not an absolute, normalized path');
  }
  return path;
}

/**
 * The text check, then the same on the real directories: a symbolic link inside a root must not
 * lead the command out of it, and the named file itself, when it exists, must be a regular file
 * (never a link qemu-img would follow). A file may not exist yet (an overlay to create).
 */
export async function checkServedPath(
  served: FileRoots,
  path: unknown,
  kind: 'file' | 'dir' = 'file',
): Promise<string> {
  const root = checkPathText(served, path, kind === 'dir');
  const p = path as string;
  const realRoot = await realpath(root).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw refuse(p, `cannot resolve ${root}: ${e.code ?? e.message}`);
  });
  // No served directory, no file under it: the operation answers "absent" (or fails to create).
  if (realRoot === null) return p;
  const dir = kind === 'dir' ? p : dirname(p);
  const realDir = await realpath(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw refuse(p, `cannot resolve ${dir}: ${e.code ?? e.message}`);
  });
  // A directory that does not exist holds nothing to escape through: the operation says so.
  if (realDir !== null && realDir !== realRoot && !realDir.startsWith(`${realRoot}/`)) {
    throw refuse(p, `its directory resolves to ${realDir}, outside ${root}`);
  }
  if (kind === 'file') {
    const st = await lstat(p).catch(() => null);
    if (st && !st.isFile()) throw refuse(p, 'not a regular file');
  }
  return p;
}
