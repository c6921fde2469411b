import { StrataError } from '@strata/core';
import type { Database } from '../db/index.js';
import type { Logger } from '../observability/index.js';
import type { Actor } from '../services/actor.js';
import { JOB_TYPES } from '../services/job-types.js';
import type { Operations } from '../services/operations.js';
import { nextSlot, parseSlot, type IntervalType } from './slots.js';

type Ops = Pick<
  Operations,
  'createVolumeSnapshot' | 'createVmSnapshot' | 'deleteVolumeSnapshot' | 'deleteVmSnapshot'
>;

/** The schedule's owner: scheduled work is the account's own, as if it had asked. */
const ownerOf = (accountId: string): Actor => ({ accountId, userId: null, role: 'user', via: 'system' });

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').slice(0, 13) + 'Z';

/**
 * Runs every schedule that is due at `now`, once. A schedule is claimed by moving its next run to
 * the first slot after `now` with a compare-and-set UPDATE: of several servers (or passes) that
 * saw it due, one moves it and fires; the others' UPDATE matches nothing. A schedule due for
 * several missed slots (the servers were down) thus fires once. The claim commits before the
 * create is queued: a crash between them loses that one run rather than doubling it.
 */
/**
 * Schedules of a volume or VM that is gone go with it, as CloudStack's policies go with their
 * volume; the record of a scheduled snapshot goes once the snapshot is deleted; a retention claim
 * whose delete job failed (the snapshot is Ready again, no delete queued or running, ten minutes
 * on: another server may be between its claim and its submit) is released for the next pass.
 */
export async function dropOrphanedSchedules(db: Database): Promise<void> {
  await db.query(
    `DELETE FROM scheduled_snapshots ss
      WHERE NOT EXISTS (SELECT 1 FROM volume_snapshots v WHERE v.id = ss.snapshot_id AND v.state <> 'Deleted')
        AND NOT EXISTS (SELECT 1 FROM vm_snapshots v WHERE v.id = ss.snapshot_id AND v.state <> 'Removed')`,
  );
  await db.query(
    `UPDATE scheduled_snapshots ss SET delete_queued_at = NULL
      WHERE ss.delete_queued_at < now() - interval '10 minutes'
        AND (EXISTS (SELECT 1 FROM volume_snapshots v WHERE v.id = ss.snapshot_id AND v.state = 'Ready')
          OR EXISTS (SELECT 1 FROM vm_snapshots v WHERE v.id = ss.snapshot_id AND v.state = 'Ready'))
        AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.resource_id = ss.snapshot_id
                          AND j.type IN ($1, $2) AND j.state IN ('Queued','Running','Compensating'))`,
    [JOB_TYPES.volumeSnapshotDelete, JOB_TYPES.vmSnapshotDelete],
  );
  await db.query(
    `DELETE FROM snapshot_schedules s
      WHERE (s.kind = 'volume' AND NOT EXISTS (SELECT 1 FROM volumes v WHERE v.id = s.target_id
                                                 AND v.state NOT IN ('Destroyed','Deleted')))
         OR (s.kind = 'vm' AND NOT EXISTS (SELECT 1 FROM vms v WHERE v.id = s.target_id
                                             AND v.state NOT IN ('Expunging','Expunged')))`,
  );
}

export async function runDueSchedules(
  db: Database,
  ops: Ops,
  now: Date,
  log?: Pick<Logger, 'warn'>,
): Promise<number> {
  const due = await db.query(
    `SELECT * FROM snapshot_schedules WHERE enabled AND next_run_at <= $1 ORDER BY next_run_at LIMIT 100`,
    [now],
  );
  let fired = 0;
  for (const r of due) {
    const id = String(r['id']);
    const interval = r['interval_type'] as IntervalType;
    const next = nextSlot(parseSlot(interval, String(r['schedule'])), String(r['timezone']), now);
    const claimed = await db.query(
      `UPDATE snapshot_schedules SET next_run_at = $2, last_run_at = $3, last_error = NULL
        WHERE id = $1 AND enabled AND next_run_at = $4 AND next_run_at <= $3 RETURNING id`,
      [id, next, now, r['next_run_at']],
    );
    if (claimed.length === 0) continue;
    fired++;
    try {
      const snapshotId = await fire(ops, r, `${interval.toLowerCase()}-${stamp(now)}`);
      await db.query('INSERT INTO scheduled_snapshots (schedule_id, snapshot_id) VALUES ($1, $2)', [
        id,
        snapshotId,
      ]);
    } catch (e) {
      // The target is gone or busy: this slot is skipped, the next one tries again.
      const reason = e instanceof StrataError ? `${e.code}: ${e.message}` : String(e);
      await db.query('UPDATE snapshot_schedules SET last_error = $2 WHERE id = $1', [id, reason]);
      log?.warn({ schedule: id, err: e }, 'a scheduled snapshot could not be queued');
    }
  }
  return fired;
}

async function fire(ops: Ops, r: Record<string, unknown>, name: string): Promise<string> {
  const actor = ownerOf(String(r['account_id']));
  const target = String(r['target_id']);
  if (r['kind'] === 'vm') {
    const started = await ops.createVmSnapshot(actor, { vmId: target, name, quiesce: 'auto' });
    return started.resource.id;
  }
  return (await ops.createVolumeSnapshot(actor, target, { name })).resource.id;
}

/**
 * Queues, through the normal delete jobs, the deletion of each schedule's Ready snapshots beyond
 * its `max_snaps`, oldest first. Each is claimed by stamping `delete_queued_at` in one UPDATE, so
 * servers sharing the database queue each deletion once.
 */
export async function enforceRetention(
  db: Database,
  ops: Ops,
  now: Date,
  log?: Pick<Logger, 'warn'>,
): Promise<number> {
  const doomed = await db.query(
    `WITH ready AS (
       SELECT ss.schedule_id, ss.snapshot_id, sch.kind, sch.account_id, sch.max_snaps,
              row_number() OVER (PARTITION BY ss.schedule_id ORDER BY ss.created_at DESC, ss.snapshot_id DESC) AS n
         FROM scheduled_snapshots ss JOIN snapshot_schedules sch ON sch.id = ss.schedule_id
        WHERE ss.delete_queued_at IS NULL
          AND ((sch.kind = 'volume' AND EXISTS (SELECT 1 FROM volume_snapshots v
                                                WHERE v.id = ss.snapshot_id AND v.state = 'Ready'))
            OR (sch.kind = 'vm' AND EXISTS (SELECT 1 FROM vm_snapshots v
                                            WHERE v.id = ss.snapshot_id AND v.state = 'Ready'))))
     UPDATE scheduled_snapshots t SET delete_queued_at = $1
       FROM ready WHERE ready.n > ready.max_snaps AND t.schedule_id = ready.schedule_id
        AND t.snapshot_id = ready.snapshot_id AND t.delete_queued_at IS NULL
     RETURNING t.schedule_id, t.snapshot_id, ready.kind, ready.account_id`,
    [now],
  );
  for (const d of doomed) {
    const actor = ownerOf(String(d['account_id']));
    const snapshotId = String(d['snapshot_id']);
    try {
      if (d['kind'] === 'vm') await ops.deleteVmSnapshot(actor, snapshotId);
      else await ops.deleteVolumeSnapshot(actor, snapshotId);
    } catch (e) {
      // Not queued (the snapshot is busy): release the claim so the next pass tries again.
      await db.query(
        'UPDATE scheduled_snapshots SET delete_queued_at = NULL WHERE schedule_id = $1 AND snapshot_id = $2',
        [d['schedule_id'], snapshotId],
      );
      log?.warn({ snapshot: snapshotId, err: e }, 'a snapshot beyond its schedule could not be deleted');
    }
  }
  return doomed.length;
}

/** Every `everyMs` (default 30 s): runs the due schedules, then retention. */
export function startScheduler(
  db: Database,
  ops: Ops,
  log: Pick<Logger, 'info' | 'warn'>,
  opts: { everyMs?: number; now?: () => Date } = {},
): { close(): Promise<void> } {
  const now = opts.now ?? (() => new Date());
  let running: Promise<void> = Promise.resolve();
  const pass = async () => {
    await dropOrphanedSchedules(db);
    const fired = await runDueSchedules(db, ops, now(), log);
    const deleted = await enforceRetention(db, ops, now(), log);
    if (fired + deleted > 0) log.info({ fired, deleted }, 'snapshot schedules ran');
  };
  const run = () => {
    running = running
      .then(pass)
      .catch((e: unknown) => log.warn({ err: e }, 'the snapshot scheduler failed; trying again next time'));
  };
  run();
  const timer = setInterval(run, opts.everyMs ?? 30_000);
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
