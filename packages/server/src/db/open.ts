import type { Database } from './database.js';
import { migrate } from './migrate.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

/**
 * Opens the database named by `url` and brings its schema up to date:
 * `postgres://…` or `postgresql://…` a PostgreSQL server; `memory:` an in-memory PGlite;
 * anything else a PGlite data directory.
 */
export async function openDatabase(url: string): Promise<Database> {
  const db = /^postgres(ql)?:\/\//.test(url)
    ? openPostgres(url)
    : await openPglite(url === 'memory:' ? undefined : url);
  await migrate(db);
  return db;
}
