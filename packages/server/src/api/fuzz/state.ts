import type { Queryable } from '../../db/index.js';

/**
 * Tables a refused request may write to by design: the audit trail records refusals, the replay
 * guard remembers every verified signature, and the migrations table never changes here.
 */
const WRITTEN_BY_REFUSALS = new Set(['audit_events', 'seen_signatures', 'schema_migrations']);

/**
 * A fingerprint of every other table: its row count and a hash of its rows, so a refused request
 * that changed anything (a row added, removed or edited) shows as a different fingerprint.
 */
export async function stateQuery(db: Queryable): Promise<string> {
  const tables = (
    await db.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
    )
  )
    .map((r) => String(r['table_name']))
    .filter((t) => !WRITTEN_BY_REFUSALS.has(t));
  const parts = tables.map(
    (t) =>
      `'${t}', (SELECT count(*)::text || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM ${t} x)`,
  );
  return `SELECT json_build_object(${parts.join(', ')}) AS state`;
}

/** Reads the fingerprint with a query made by `stateQuery`. */
export async function readState(db: Queryable, query: string): Promise<Record<string, string>> {
  const row = (await db.query(query))[0];
  const v = row?.['state'];
  return (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, string>;
}

/** The tables whose fingerprint differs. */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  return Object.keys({ ...before, ...after }).filter((t) => before[t] !== after[t]);
}
