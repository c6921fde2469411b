import { StrataError } from '@strata/core';
import type { Job, JobEngine, JobFilter, Json, Page, SubmitOptions } from '../jobs/index.js';
import type { Queryable } from '../db/index.js';
import { WaitGate } from '../limits/wait-gate.js';
import { isAdmin, type Actor } from './actor.js';

/** Longest a caller may block on `wait` (keeps HTTP requests bounded). */
export const MAX_WAIT_MS = 120_000;

/**
 * Jobs as an account sees them: scoped like every other resource (another account's job is
 * NOT_FOUND), and unavailable with a coded error when this server runs without a job engine.
 */
export class JobService {
  constructor(
    private readonly engine: JobEngine | null,
    /** Caps waits held open at once (none by default; the server passes its settings). */
    private readonly waits: WaitGate = new WaitGate(0, 0),
  ) {}

  get available(): boolean {
    return this.engine !== null;
  }

  private need(): JobEngine {
    if (!this.engine)
      throw new StrataError('UNAVAILABLE', {
        what: 'the job engine',
        reason: 'this server runs without one',
      });
    return this.engine;
  }

  async submit(
    actor: Actor,
    type: string,
    input: Json,
    opts: { lockKey?: string; resourceType?: string; resourceId?: string; tx?: Queryable },
  ): Promise<Job> {
    const options: SubmitOptions = { accountId: actor.accountId, ...opts };
    return this.need().submit(type, input, options);
  }

  async get(actor: Actor, id: string): Promise<Job> {
    const job = await this.need().get(id);
    if (!isAdmin(actor) && job.accountId !== actor.accountId)
      throw new StrataError('NOT_FOUND', { kind: 'job', id });
    return job;
  }

  /** Answers when the job finishes or `timeoutMs` ends; RATE_LIMITED when too many waits are open. */
  async wait(actor: Actor, id: string, timeoutMs: number): Promise<Job> {
    const job = await this.get(actor, id);
    if (job.state === 'Succeeded' || job.state === 'Failed' || timeoutMs <= 0) return job;
    const leave = this.waits.enter(actor.userId ?? `account:${actor.accountId}`);
    try {
      return await this.need().wait(id, Math.min(timeoutMs, MAX_WAIT_MS));
    } finally {
      leave();
    }
  }

  async list(actor: Actor, f: JobFilter & { limit?: number; cursor?: string } = {}): Promise<Page<Job>> {
    const { limit, cursor } = f;
    // Only known filters pass: request parameters such as apiKey must never reach the query.
    const filter: JobFilter = {
      state: f.state,
      type: f.type,
      resourceType: f.resourceType,
      resourceId: f.resourceId,
      accountId: f.accountId,
    };
    const scoped: JobFilter = isAdmin(actor) ? filter : { ...filter, accountId: actor.accountId };
    return this.need().list(scoped, { limit, cursor });
  }

  /**
   * Cancels a job of the caller's account (any job for an admin): a queued one at once, a running
   * one at its next step boundary, compensating what it did (JobEngine.cancel).
   */
  async cancel(actor: Actor, id: string): Promise<Job> {
    await this.get(actor, id);
    return this.need().cancel(id);
  }

  async steps(actor: Actor, id: string): Promise<unknown> {
    await this.get(actor, id);
    return this.need().steps(id);
  }

  async progress(actor: Actor, id: string, afterSeq?: number): Promise<unknown> {
    await this.get(actor, id);
    return this.need().progressEvents(id, afterSeq);
  }
}
