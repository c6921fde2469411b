import { PGlite } from '@electric-sql/pglite';
import type { Database } from './database.js';

/**
 * The embedded default: PostgreSQL compiled to WASM, in a data directory (or memory).
 * PGlite has a single connection and serialises transactions itself.
 */
export async function openPglite(dataDir: string | undefined): Promise<Database> {
  const pg = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
  const query = async <T extends object>(
    q: Pick<PGlite, 'query'>,
    sql: string,
    params?: readonly unknown[],
  ) => (await q.query<T>(sql, params ? [...params] : undefined)).rows;
  return {
    kind: 'pglite',
    query: (sql, params) => query(pg, sql, params),
    transaction: (fn) => pg.transaction((tx) => fn({ query: (sql, params) => query(tx, sql, params) })),
    exec: async (sql) => {
      await pg.exec(sql);
    },
    close: () => pg.close(),
  };
}
