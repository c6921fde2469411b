import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type RunningServer } from '@strata/server/server';
import { createLogger } from '@strata/server/observability/index';

// Roles and the audit trail from the CLI, run as a user runs it (`node dist/bin.js`) against a
// real server on in-memory PGlite: give a user a role, see it listed, read the change back from
// the audit trail.

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
  dir = await mkdtemp(join(tmpdir(), 'strata-cli-roles-'));
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

test('users create --role, users set-role, users list and audit list', async () => {
  const account = await json<{ id: string }>(['accounts', 'create', '--name', 'cli-roles']);
  const made = await json<{ id: string; role: string }>([
    'users',
    'create',
    '--account',
    account.id,
    '--username',
    'cli-aa',
    '--role',
    'account-admin',
  ]);
  assert.equal(made.role, 'account-admin');
  const changed = await json<{ role: string }>(['users', 'set-role', made.id, 'user']);
  assert.equal(changed.role, 'user');
  const listed = await json<{ items: Array<{ id: string; role: string }> }>([
    'users',
    'list',
    '--account',
    account.id,
  ]);
  assert.deepEqual(
    listed.items.map((u) => [u.id, u.role]),
    [[made.id, 'user']],
  );
  const off = await json<{ disabledAt: string | null }>(['users', 'disable', made.id]);
  assert.match(String(off.disabledAt), /^\d{4}-/);
  assert.equal((await json<{ disabledAt: string | null }>(['users', 'enable', made.id])).disabledAt, null);
  const refused = await strata(['users', 'set-role', made.id, 'root']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /INVALID_ARGUMENT/);

  const trail = await json<{
    items: Array<{ targetId: string; details: { from: string | null; to: string } }>;
  }>(['audit', 'list', '--kind', 'role.changed']);
  assert.deepEqual(
    trail.items.map((e) => [e.targetId, e.details.from, e.details.to]),
    [
      [made.id, null, 'account-admin'],
      [made.id, 'account-admin', 'user'],
    ],
  );
});
