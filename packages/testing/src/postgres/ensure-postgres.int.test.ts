import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ensurePostgres, POSTGRES_BIN } from './ensure-postgres.js';
import { createTestDatabase, dropTestDatabase } from './test-database.js';

const run = promisify(execFile);
const psql = (url: string, sql: string) => run('psql', [url, '-Atc', sql]).then((r) => r.stdout.trim());

void test('ensurePostgres starts a PostgreSQL 15 server on loopback once and reuses it', async () => {
  const first = await ensurePostgres();
  assert.equal(first.host, '127.0.0.1');
  assert.match(await psql(first.url, 'SHOW server_version'), /^15\./);
  const again = await ensurePostgres();
  assert.equal(again.port, first.port);
  // a second process sees the same server and starts nothing
  const { stdout } = await run(process.execPath, [
    '--input-type=module',
    '-e',
    `import { ensurePostgres } from ${JSON.stringify(new URL('./ensure-postgres.js', import.meta.url).href)};
     const s = await ensurePostgres(); console.log(JSON.stringify(s));`,
  ]);
  const other = JSON.parse(stdout) as { port: number; started: boolean };
  assert.equal(other.port, first.port);
  assert.equal(other.started, false);
  await run(join(POSTGRES_BIN, 'pg_isready'), ['-h', first.host, '-p', String(first.port)]);
});

void test('createTestDatabase returns a fresh empty database each time', async () => {
  const a = await createTestDatabase();
  const b = await createTestDatabase();
  assert.notEqual(a, b);
  assert.match(a, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/t_[0-9a-f]{12}$/);
  await psql(a, 'CREATE TABLE only_in_a (x int)');
  assert.equal(await psql(b, `SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'`), '0');
  assert.equal(await psql(a, `SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'`), '1');
  await dropTestDatabase(a);
  await dropTestDatabase(b);
  await assert.rejects(psql(a, 'SELECT 1'), /does not exist/);
});
