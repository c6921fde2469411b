import { execFile } from 'node:child_process';
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, normalize, sep } from 'node:path';
import { promisify } from 'node:util';
import { StrataError, type CommandParams, type FileFormat, type TemplateInspection } from '@strata/core';

const run = promisify(execFile);

/** The text checks the server made, made again here: this machine acts on what it is sent. */
function textRefusal(path: unknown): string | null {
  if (typeof path !== 'string' || path === '') return 'not a path';
  if (path.startsWith('-')) return 'must not start with "-"';
  if (path.includes('\0')) return 'must not contain a NUL character';
  if (!isAbsolute(path)) return 'must be an absolute path';
  if (normalize(path) !== path || path.endsWith(sep)) return 'must be a normal path (no "..", "." or "//")';
  return null;
}

/**
 * `template.inspect`: a template file checked on the machine that has it (the management server
 * may see none of it). Its real path, links followed, must lie under one of the allowed directories
 * as they resolve here, and be a regular file; with a format, its virtual size is read.
 */
export async function inspectTemplate(
  p: CommandParams<'template.inspect'>,
  signal: AbortSignal,
): Promise<TemplateInspection> {
  const refused = (reason: string): TemplateInspection => ({ state: 'refused', reason });
  const bad = textRefusal(p.path);
  if (bad) return refused(bad);
  const dirs = Array.isArray(p.allowedDirs) ? p.allowedDirs.filter((d) => typeof d === 'string') : [];
  if (dirs.length === 0) return refused('no template directory is allowed');
  let real: string;
  try {
    real = await realpath(p.path);
  } catch {
    return { state: 'absent' };
  }
  const roots = await Promise.all(
    dirs.filter((d) => isAbsolute(d)).map((d) => realpath(d).catch(() => null)),
  );
  if (!roots.some((root) => root !== null && real.startsWith(root.endsWith(sep) ? root : root + sep)))
    return refused(`must be under one of the allowed template directories: ${dirs.join(', ')}`);
  if (!(await stat(real)).isFile()) return refused('must be a regular file');
  if (p.format === undefined) return { state: 'ok', virtualSize: null };
  return readSize(p.path, p.format, signal, refused);
}

async function readSize(
  path: string,
  format: FileFormat,
  signal: AbortSignal,
  refused: (reason: string) => TemplateInspection,
): Promise<TemplateInspection> {
  if (format !== 'qcow2' && format !== 'raw')
    throw new StrataError('INVALID_ARGUMENT', { field: 'format', reason: 'must be qcow2 or raw' });
  let out: string;
  try {
    out = (
      await run('qemu-img', ['info', '--output=json', '--force-share', '-f', format, path], {
        signal,
        timeout: 30_000,
        maxBuffer: 1 << 20,
      })
    ).stdout;
  } catch (e) {
    const text = ((e as { stderr?: string }).stderr || (e as Error).message).trim();
    return refused(`not a readable ${format} image: ${text.slice(0, 300)}`);
  }
  const size = (JSON.parse(out) as { 'virtual-size'?: unknown })['virtual-size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0)
    return refused('qemu-img answered no virtual size');
  return { state: 'ok', virtualSize: size };
}
