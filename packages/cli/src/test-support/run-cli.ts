import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { startServer, type RunningServer } from '@strata/server/server';
import { createLogger } from '@strata/server/observability/index';

/** The built CLI, run as a user runs it: `node dist/bin.js`. */
export const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin.js');

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One `strata -o json …` process with that environment (HOME and config of the test's own). */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, '-o', 'json', ...args],
      { env, timeout: timeoutMs },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number')
          return reject(err instanceof Error ? err : new Error('process failed'));
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
      },
    );
  });
}

/** A CLI run that must succeed, its JSON output parsed. */
export async function cliJson<T>(
  run: (args: readonly string[]) => Promise<CliRun>,
  args: readonly string[],
): Promise<T> {
  const r = await run(args);
  assert.equal(r.code, 0, `strata ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export interface CliServer {
  readonly server: RunningServer;
  readonly strata: (args: readonly string[]) => Promise<CliRun>;
  readonly json: <T>(args: readonly string[]) => Promise<T>;
  close(): Promise<void>;
}

/**
 * A real server on in-memory PGlite (no job engine) and a CLI configured for its first admin
 * (`strata config import-credentials`), in a directory of its own removed by close().
 */
export async function startCliServer(prefix: string): Promise<CliServer> {
  const dir = await mkdtemp(join(tmpdir(), `strata-${prefix}-`));
  const env = { ...process.env, HOME: dir, STRATA_CONFIG: join(dir, 'config.json') };
  const strata = (args: readonly string[]) => runCli(args, env);
  let server: RunningServer | undefined;
  try {
    server = await startServer(
      {
        dataDir: join(dir, 'server'),
        databaseUrl: 'memory:',
        host: '127.0.0.1',
        port: 0,
        logLevel: 'warn',
        jobs: false,
      },
      { logger: createLogger({ level: 'warn' }) },
    );
    const credentials = join(dir, 'server', 'admin-credentials.json');
    const imported = await strata(['config', 'import-credentials', credentials, '--endpoint', server.url]);
    assert.equal(imported.code, 0, imported.stderr);
  } catch (e) {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const running = server;
  return {
    server: running,
    strata,
    json: <T>(args: readonly string[]) => cliJson<T>(strata, args),
    close: async () => {
      await running.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
