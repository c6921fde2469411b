import type { Queryable } from '../../db/index.js';

/**
 * Every row of every table of the public schema as text, as a database dump would show it: what
 * someone holding a backup, a replica or a `pg_dump` reads without the server's key file.
 */
export async function dumpRows(q: Queryable): Promise<string> {
  const tables = await q.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const out: string[] = [];
  for (const { name } of tables) {
    const rows = await q.query<{ row: string }>(`SELECT t::text AS row FROM "${name.replace(/"/g, '""')}" t`);
    for (const r of rows) out.push(`${name}: ${r.row}`);
  }
  return out.join('\n');
}
