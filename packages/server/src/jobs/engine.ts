import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { pino } from 'pino';
import { claimNext, expireOwnLeases } from './claim.js';
import { Definitions } from './definitions.js';
import { releaseLease } from './fence.js';
import { JobRun } from './runner.js';
import * as store from './store.js';
import type { Job, JobEngine, JobEngineOptions, JobFinishedListener } from './types.js';
import { armedFaultPoint } from './fault.js';
import { JobWaiters } from './waiters.js';

/**
 * The durable job engine (docs/jobs.md): jobs and their step journal live in the database, so any
 * server on it can claim, run, take over and finish them.
 */
export function createJobEngine(options: JobEngineOptions): JobEngine {
  const { db } = options;
  armedFaultPoint(); // a malformed STRATA_FAULT_KILL_AT refuses the start
  const serverId = options.serverId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const log = (options.logger ?? pino({ level: 'warn' })).child({ serverId });
  const concurrency = options.concurrency ?? 4;
  const leaseMs = options.leaseMs ?? 30_000;
  const pollMs = options.pollMs ?? 500;
  const defs = new Definitions();
  const active = new Map<string, Promise<void>>();
  const listeners = new Set<JobFinishedListener>();
  const waiters = new JobWaiters(options.waitPollMs ?? 1000);
  let stopping = new AbortController();
  let started = false;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  let again = false;
  let reclaim: Promise<void> | undefined;

  const finished = (job: Job) => {
    const start = job.startedAt ? Date.parse(job.startedAt) : Date.now();
    const seconds = Math.max(0, (Date.parse(job.finishedAt ?? new Date().toISOString()) - start) / 1000);
    for (const l of listeners) {
      try {
        l(job, seconds);
      } catch (e) {
        log.warn({ err: e }, 'job-finished listener threw');
      }
    }
    waiters.wake(job.id);
  };

  const schedule = (ms: number) => {
    if (!started) return;
    clearTimeout(timer);
    timer = setTimeout(() => void tick(), ms);
  };

  /** Claims while there is room; one tick at a time (a tick asked for meanwhile runs right after). */
  const tick = (): Promise<void> => {
    if (ticking) {
      again = true;
      return ticking;
    }
    const current = (async () => {
      do {
        again = false;
        try {
          if (reclaim) await reclaim;
          reclaim = undefined;
          while (started && active.size < concurrency) {
            const claimed = await claimNext(db, serverId, defs.types(), leaseMs);
            if (!claimed) break;
            if (!started) {
              // stopped while the claim was in flight: hand it back now, not when its lease lapses
              const lease = { jobId: claimed.job.id, owner: serverId, epoch: claimed.job.epoch, leaseMs };
              await releaseLease(db, lease);
              break;
            }
            launch(claimed.job, claimed.takeover);
          }
        } catch (e) {
          log.warn({ err: e }, 'claiming jobs failed; retrying');
        }
      } while (again && started);
    })();
    ticking = current;
    void current.finally(() => {
      ticking = undefined;
      schedule(pollMs);
    });
    return current;
  };

  const launch = (job: Job, takeover: boolean) => {
    log.info(
      { jobId: job.id, jobType: job.type, epoch: job.epoch, takeover },
      takeover ? 'took over job' : 'claimed job',
    );
    const run = new JobRun(
      { db, serverId, leaseMs, log, stopping: stopping.signal, finished },
      defs.get(job.type),
      job,
    )
      .run()
      .finally(() => {
        active.delete(job.id);
        schedule(0);
      });
    active.set(job.id, run);
  };

  return {
    serverId,
    register: (def) => defs.add(def),
    async submit(type, input, opts) {
      const def = defs.get(type);
      def.validate?.(input);
      const job = await store.insertJob(opts.tx ?? db, {
        id: opts.id ?? randomUUID(),
        type,
        accountId: opts.accountId,
        input,
        lockKey: opts.lockKey ?? null,
        resourceType: opts.resourceType ?? null,
        resourceId: opts.resourceId ?? null,
      });
      // In the caller's transaction the job is not visible until it commits: claim it right then
      // rather than at the next poll (up to pollMs later).
      if (opts.tx?.afterCommit) opts.tx.afterCommit(() => schedule(0));
      else schedule(0);
      return job;
    },
    get: (id) => store.getJob(db, id),
    list: (filter, page) => store.listJobs(db, filter, page),
    steps: (id) => store.journal(db, id),
    progressEvents: (id, afterSeq) => store.progressEvents(db, id, afterSeq),
    countByState: () => store.countByState(db),
    async cancel(id) {
      const job = await store.cancelJob(db, id, {
        undo: async (tx, j) => {
          const def = defs.find(j.type);
          await def?.onCancelled?.(tx, j.input, j.id);
        },
        runningMayStop: (j) => defs.find(j.type)?.cancellableWhileRunning !== false,
      });
      if (job.state === 'Failed') waiters.wake(id);
      return job;
    },
    wait: (id, timeoutMs) => waiters.wait(id, timeoutMs, () => store.getJob(db, id)),
    start() {
      if (started) return;
      started = true;
      stopping = new AbortController();
      // Only an explicit id can name a previous life of this server (the default one is unique).
      if (options.serverId)
        reclaim = expireOwnLeases(db, serverId).then(
          (n) =>
            void (n > 0 && log.info({ jobs: n }, "took back the jobs of this server id's previous life")),
          (e: unknown) => log.warn({ err: e }, 'could not expire the leases of a previous life'),
        );
      schedule(0);
    },
    async stop(graceMs = 10_000) {
      started = false;
      clearTimeout(timer);
      stopping.abort();
      await ticking;
      // a step that ignores its signal must not hold shutdown forever: its lease then just lapses
      let timeout: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timeout = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.allSettled([...active.values()]), grace]);
      clearTimeout(timeout);
      if (active.size > 0)
        log.warn({ jobs: [...active.keys()] }, 'stopped with steps still running; their leases will lapse');
    },
    onFinished(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
