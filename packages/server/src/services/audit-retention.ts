import type { Queryable } from '../db/index.js';
import type { Logger } from '../observability/index.js';

/** How long audit events are kept when no --audit-retention-days is given. */
export const DEFAULT_AUDIT_RETENTION_DAYS = 90;

/** How often a server prunes: often enough that the table never holds much more than the window. */
export const AUDIT_PRUNE_EVERY_MS = 3600_000;

/** Rows removed per statement: a year of a busy trail goes in bounded steps, not one long lock. */
const BATCH = 5000;

/**
 * Removes audit events older than `days` (docs/security.md, "Audit trail"); 0 keeps them all.
 * Every server of a database may prune: deleting rows already gone is harmless.
 */
export async function pruneAuditEvents(db: Queryable, days: number, now = new Date()): Promise<number> {
  if (days <= 0) return 0;
  const before = new Date(now.getTime() - days * 86_400_000).toISOString();
  let removed = 0;
  for (;;) {
    const rows = await db.query(
      `DELETE FROM audit_events WHERE id IN (
         SELECT id FROM audit_events WHERE created_at < $1::timestamptz ORDER BY created_at, id LIMIT ${BATCH})
       RETURNING id`,
      [before],
    );
    removed += rows.length;
    if (rows.length < BATCH) return removed;
  }
}

/** Prunes at start and then every `everyMs`; a failure is logged and tried again next time. */
export function startAuditPruning(
  db: Queryable,
  days: number,
  log: Pick<Logger, 'info' | 'warn'>,
  everyMs = AUDIT_PRUNE_EVERY_MS,
): { close(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = pruneAuditEvents(db, days).then(
      (n) => {
        if (n > 0) log.info({ removed: n, retentionDays: days }, 'pruned old audit events');
      },
      (e: unknown) => log.warn({ err: e }, 'pruning audit events failed'),
    );
  };
  if (days <= 0) return { close: () => Promise.resolve() };
  run();
  const timer = setInterval(run, everyMs);
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
