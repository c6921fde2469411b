import type { Job } from './types.js';

const TERMINAL = new Set(['Succeeded', 'Failed']);

/**
 * Callers waiting for jobs to end. This server's finish or cancel of a job wakes its waits at
 * once; a slow poll notices a job another server runs.
 */
export class JobWaiters {
  readonly #byJob = new Map<string, Set<() => void>>();

  constructor(private readonly pollMs: number) {}

  wake(jobId: string): void {
    for (const w of this.#byJob.get(jobId) ?? []) w();
  }

  /** Reads the job until it has ended or `timeoutMs` has passed; answers the last read. */
  async wait(jobId: string, timeoutMs: number, read: () => Promise<Job>): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    let woken = false;
    let cutSleep: (() => void) | undefined;
    const onWake = () => {
      woken = true;
      cutSleep?.();
    };
    // registered before the first read: a finish between a read and the sleep is not missed
    const mine = this.#byJob.get(jobId) ?? new Set<() => void>();
    this.#byJob.set(jobId, mine);
    mine.add(onWake);
    try {
      for (;;) {
        woken = false;
        const job = await read();
        const left = deadline - Date.now();
        if (TERMINAL.has(job.state) || left <= 0) return job;
        if (woken) continue;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, this.pollMs));
          cutSleep = () => {
            clearTimeout(t);
            resolve();
          };
        });
        cutSleep = undefined;
      }
    } finally {
      mine.delete(onWake);
      if (mine.size === 0 && this.#byJob.get(jobId) === mine) this.#byJob.delete(jobId);
    }
  }
}
