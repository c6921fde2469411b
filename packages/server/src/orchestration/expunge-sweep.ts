import type { Database } from '../db/index.js';
import type { JobEngine } from '../jobs/index.js';
import type { Logger } from '../observability/index.js';
import { JOB_TYPES, vmLock } from '../services/job-types.js';

/** How long a Destroyed VM stays recoverable when no --vm-expunge-delay is given (CloudStack's expunge.delay). */
export const DEFAULT_VM_EXPUNGE_DELAY_S = 86_400;

/**
 * Queues the expunge of every VM Destroyed longer than `delayS` ago, and again of every VM left
 * Expunging (its last expunge could not finish), unless one is already queued or running. The
 * rows are locked with SKIP LOCKED and the jobs queued in the same transaction, so servers
 * sharing a database queue each at most once per pass.
 */
export async function sweepDestroyedVms(db: Database, engine: JobEngine, delayS: number): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx.query(
      `SELECT v.id, v.account_id FROM vms v
        WHERE ((v.state = 'Destroyed' AND v.destroyed_at < now() - ($1::int * interval '1 second'))
               OR v.state = 'Expunging')
          AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.resource_type = 'vm' AND j.resource_id = v.id
                            AND j.type IN ($2, $3) AND j.state IN ('Queued','Running','Compensating'))
        ORDER BY v.destroyed_at LIMIT 100 FOR UPDATE OF v SKIP LOCKED`,
      [delayS, JOB_TYPES.vmExpunge, JOB_TYPES.vmDestroy],
    );
    for (const r of rows) {
      const id = String(r['id']);
      await engine.submit(
        JOB_TYPES.vmExpunge,
        { vmId: id },
        { accountId: String(r['account_id']), lockKey: vmLock(id), resourceType: 'vm', resourceId: id, tx },
      );
    }
    return rows.length;
  });
}

/** Sweeps now and then every `everyMs` (default: a minute, or half the delay when shorter). */
export function startExpungeSweep(
  db: Database,
  engine: JobEngine,
  delayS: number,
  log: Pick<Logger, 'info' | 'warn'>,
  everyMs = Math.max(1000, Math.min(60_000, (delayS * 1000) / 2)),
): { close(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = sweepDestroyedVms(db, engine, delayS).then(
      (n) => void (n > 0 && log.info({ vms: n, delayS }, 'queued the expunge of destroyed VMs')),
      (e: unknown) => log.warn({ err: e }, 'the expunge sweep failed; trying again next time'),
    );
  };
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
