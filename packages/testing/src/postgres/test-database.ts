import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensurePostgres, POSTGRES_BIN } from './ensure-postgres.js';

const run = promisify(execFile);

/**
 * Creates a fresh, empty database on the shared test server (started if needed) and returns its
 * `postgres://` URL. Names are random so parallel test runs never collide.
 */
export async function createTestDatabase(prefix = 't'): Promise<string> {
  const server = await ensurePostgres();
  const name = `${prefix.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(6).toString('hex')}`;
  await run(join(POSTGRES_BIN, 'createdb'), [
    '-h',
    server.host,
    '-p',
    String(server.port),
    '-U',
    server.user,
    name,
  ]);
  return `postgres://${server.user}@${server.host}:${server.port}/${name}`;
}

/** Drops a database made by createTestDatabase (connections to it are terminated). */
export async function dropTestDatabase(url: string): Promise<void> {
  const server = await ensurePostgres();
  const name = new URL(url).pathname.slice(1);
  await run(join(POSTGRES_BIN, 'dropdb'), [
    '-h',
    server.host,
    '-p',
    String(server.port),
    '-U',
    server.user,
    '--force',
    '--if-exists',
    name,
  ]);
}
