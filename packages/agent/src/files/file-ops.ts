import { execFile } from 'node:child_process';
import { lstat, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { StrataError, type CommandParams, type CommandResult, type FileFormat } from '@strata/core';
import { backingChainOf } from './qcow2-chain.js';
import { checkReadPath, checkServedPath, type FileRoots } from './roots.js';

const run = promisify(execFile);
const FORMATS: readonly FileFormat[] = ['qcow2', 'raw'];

function format(value: unknown, field: string): FileFormat {
  if (FORMATS.includes(value as FileFormat)) return value as FileFormat;
  throw new StrataError('INVALID_ARGUMENT', { field, reason: `"${String(value)}" is not qcow2 or raw` });
}

const failed = (operation: string, path: string, e: unknown): StrataError =>
  e instanceof StrataError
    ? e
    : new StrataError(
        'FILE_OPERATION_FAILED',
        { operation, path, reason: ((e as { stderr?: string }).stderr || (e as Error).message).trim() },
        { cause: e },
      );

/** qemu-img with an argument array (never a shell): paths hold any character. */
async function qemuImg(
  operation: string,
  path: string,
  args: string[],
  signal: AbortSignal,
  timeoutMs: number,
) {
  try {
    await run('qemu-img', args, { signal, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    throw failed(`qemu-img ${operation}`, path, e);
  }
}

const exists = (path: string) =>
  lstat(path).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return false;
      throw failed('stat', path, e);
    },
  );

/**
 * The file commands of the agent channel (docs/agent-channel.md): the qcow2 layers and state
 * files of this host, only under the directories it serves. Each is safe to replay: a command the
 * server sends again after a crash finishes the work or answers what is already there.
 */
export class FileOps {
  constructor(private readonly served: FileRoots) {}

  /** Written under a hidden name and renamed into place: a crash never leaves a half-made overlay. */
  async createOverlay(
    p: CommandParams<'file.createOverlay'>,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<CommandResult<'file.createOverlay'>> {
    const path = await checkServedPath(this.served, p.path);
    const backing = checkReadPath(p.backing);
    const backingFormat = format(p.backingFormat ?? 'qcow2', 'backingFormat');
    if (await exists(path)) {
      const chain = await backingChainOf(path, signal).catch((e: unknown) => {
        throw failed('read the backing chain', path, e);
      });
      if (chain[0]?.format === 'qcow2' && chain[1]?.path === backing) return { created: false };
      throw new StrataError('FILE_CONFLICT', {
        path,
        reason: `it stands on ${chain[1]?.path ?? 'nothing'}, not ${backing}`,
      });
    }
    const partial = join(dirname(path), `.${basename(path)}.partial`);
    await rm(partial, { force: true });
    const args = ['create', '-q', '-f', 'qcow2', '-F', backingFormat, '-b', backing, partial];
    await qemuImg('create', path, args, signal, timeoutMs);
    await rename(partial, path).catch((e: unknown) => {
      throw failed('rename', path, e);
    });
    return { created: true };
  }

  async remove(p: CommandParams<'file.remove'>): Promise<CommandResult<'file.remove'>> {
    const path = await checkServedPath(this.served, p.path);
    const existed = await exists(path);
    if (existed)
      await rm(path, { force: true }).catch((e: unknown) => Promise.reject(failed('remove', path, e)));
    return { existed };
  }

  async commit(
    p: CommandParams<'file.commit'>,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<CommandResult<'file.commit'>> {
    const path = await checkServedPath(this.served, p.path);
    const t0 = performance.now();
    await qemuImg('commit', path, ['commit', '-q', path], signal, timeoutMs);
    return { tookMs: performance.now() - t0 };
  }

  async rebase(
    p: CommandParams<'file.rebase'>,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<CommandResult<'file.rebase'>> {
    const path = await checkServedPath(this.served, p.path);
    const backing = checkReadPath(p.backing);
    const args = [
      'rebase',
      '-q',
      '-f',
      format(p.format, 'format'),
      '-b',
      backing,
      '-F',
      format(p.backingFormat, 'backingFormat'),
      path,
    ];
    const t0 = performance.now();
    await qemuImg('rebase', path, args, signal, timeoutMs);
    return { tookMs: performance.now() - t0 };
  }

  async chain(p: CommandParams<'file.chain'>, signal: AbortSignal): Promise<CommandResult<'file.chain'>> {
    const path = await checkServedPath(this.served, p.path);
    if (!(await exists(path))) return { exists: false, layers: [] };
    try {
      return { exists: true, layers: await backingChainOf(path, signal) };
    } catch (e) {
      throw failed('read the backing chain', path, e);
    }
  }

  async list(p: CommandParams<'file.list'>): Promise<CommandResult<'file.list'>> {
    const dir = await checkServedPath(this.served, p.dir, 'dir');
    const prefix = typeof p.prefix === 'string' ? p.prefix : '';
    try {
      const entries = await readdir(dir, { withFileTypes: true });
      const names = entries.filter((e) => e.isFile() && e.name.startsWith(prefix)).map((e) => e.name);
      return { exists: true, names: names.sort() };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false, names: [] };
      throw failed('list', dir, e);
    }
  }
}
