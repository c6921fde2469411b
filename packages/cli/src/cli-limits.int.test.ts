import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type RunningServer } from '@strata/server/server';
import { createLogger } from '@strata/server/observability/index';

// Resource limits from the CLI, run as a user runs it (`node dist/bin.js`) against a real server
// on in-memory PGlite: set limits (a size for storage), read them back with usage, lift one.

const BIN = join(dirname(fileURLToPath(import.meta.url)), 'bin.js');
let server: RunningServer;
let dir = '';

function strata(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, '-o', 'json', ...args],
      { env: { ...process.env, HOME: dir, STRATA_CONFIG: join(dir, 'config.json') }, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number')
          return reject(err instanceof Error ? err : new Error('process failed'));
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
      },
    );
  });
}

async function json<T>(args: readonly string[]): Promise<T> {
  const r = await strata(args);
  assert.equal(r.code, 0, `strata ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-cli-limits-'));
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
  const imported = await strata([
    'config',
    'import-credentials',
    join(dir, 'server', 'admin-credentials.json'),
    '--endpoint',
    server.url,
  ]);
  assert.equal(imported.code, 0, imported.stderr);
});

after(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('accounts limits set and list', async () => {
  const account = await json<{ id: string }>(['accounts', 'create', '--name', 'cli-limits']);
  const storage = await json<{ kind: string; max: number; used: number }>([
    'accounts',
    'limits',
    'set',
    account.id,
    'primary-storage-bytes',
    '100G',
  ]);
  assert.deepEqual(storage, {
    accountId: account.id,
    kind: 'primary-storage-bytes',
    max: 100 * 1024 ** 3,
    used: 0,
  });
  await json(['accounts', 'limits', 'set', account.id, 'vm', '5']);
  const listed = await json<{ items: Array<{ kind: string; max: number }> }>([
    'accounts',
    'limits',
    'list',
    account.id,
  ]);
  assert.deepEqual(
    listed.items.map((l) => [l.kind, l.max]),
    [
      ['vm', 5],
      ['volume', -1],
      ['volume-snapshot', -1],
      ['vm-snapshot', -1],
      ['primary-storage-bytes', 100 * 1024 ** 3],
      ['min-iops', -1],
    ],
  );
  const lifted = await json<{ max: number }>(['accounts', 'limits', 'set', account.id, 'vm', 'unlimited']);
  assert.equal(lifted.max, -1);
  const refused = await strata(['accounts', 'limits', 'set', account.id, 'cpu', '4']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /INVALID_ARGUMENT/);
  const table = await strata([
    '-o',
    'table',
    'accounts',
    'limits',
    'ls',
    account.id,
    '--kind',
    'primary-storage-bytes',
  ]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /primary-storage-bytes\s+100 GiB\s+0 B/);
});
