import { execFile } from 'node:child_process';
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, normalize, sep } from 'node:path';
import { StrataError } from '@strata/core';

/**
 * A template's files are read by `qemu-img convert` and libvirt with the server's and the agents'
 * rights, so a path is the operator's to allow: it must be absolute and normal (no `..`), not
 * start with `-` (else a tool reads it as an option), resolve (symbolic links followed) under one
 * of the directories the operator allows (`STRATA_TEMPLATE_DIRS`, docs/security.md), and be a
 * regular file that exists now.
 */
export async function checkTemplateFile(
  field: string,
  path: string,
  allowedDirs: readonly string[],
): Promise<string> {
  const bad = (reason: string): never => {
    throw new StrataError('INVALID_ARGUMENT', { field, reason });
  };
  if (path.startsWith('-')) bad('must not start with "-"');
  if (path.includes('\0')) bad('must not contain a NUL character');
  if (!isAbsolute(path)) bad('must be an absolute path');
  if (normalize(path) !== path || path.endsWith(sep)) bad('must be a normal path (no "..", "." or "//")');
  if (allowedDirs.length === 0)
    bad('no template directory is allowed on this server (set STRATA_TEMPLATE_DIRS)');
  let real = '';
  try {
    real = await realpath(path);
  } catch {
    bad('does not exist on the management server');
  }
  const roots = await Promise.all(allowedDirs.map((d) => realpath(d).catch(() => null)));
  if (!roots.some((root) => root !== null && real.startsWith(root.endsWith(sep) ? root : root + sep)))
    bad(`must be under one of the allowed template directories: ${allowedDirs.join(', ')}`);
  const st = await stat(real);
  if (!st.isFile()) bad('must be a regular file');
  return path;
}

/**
 * The virtual size of a template file the operator allowed (checkTemplateFile first), read with
 * `qemu-img info` as the given format: what a caller that names no size (CloudStack's
 * registerTemplate never does) registers.
 */
export async function templateVirtualSize(path: string, format: 'qcow2' | 'raw'): Promise<number> {
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      'qemu-img',
      ['info', '--output=json', '--force-share', '-f', format, path],
      { timeout: 30_000, maxBuffer: 1 << 20 },
      (err, stdout, stderr) =>
        err
          ? reject(
              new StrataError('INVALID_ARGUMENT', {
                field: 'path',
                reason: `not a readable ${format} image: ${(stderr || err.message).trim().slice(0, 300)}`,
              }),
            )
          : resolve(stdout),
    ),
  );
  const size = (JSON.parse(out) as { 'virtual-size'?: unknown })['virtual-size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0)
    throw new StrataError('INVALID_ARGUMENT', { field: 'path', reason: 'qemu-img answered no virtual size' });
  return size;
}
