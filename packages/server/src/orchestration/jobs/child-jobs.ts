import { createHash } from 'node:crypto';
import { isStrataError } from '@strata/core';
import type { JobEngine, Json, StepContext } from '../../jobs/index.js';

export interface ChildJob {
  /** Derived from the parent job and the resource (childJobId): a step run again finds it. */
  readonly id: string;
  readonly type: string;
  readonly input: Json;
  readonly resourceType: string;
  readonly resourceId: string;
}

/** A stable id for the parent's child job on one resource. */
export function childJobId(parentJobId: string, resourceId: string): string {
  const h = createHash('sha256').update(`${parentJobId}/${resourceId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Runs ordinary jobs one after another on behalf of a job that holds their resources' lock: they
 * are queued without a lock key (the parent's lock keeps everything else off the VM) and waited
 * for. Answers the first that failed, or undefined when all succeeded.
 */
export async function runChildJobs(
  engine: JobEngine,
  ctx: StepContext,
  accountId: string,
  children: readonly ChildJob[],
): Promise<{ resourceType: string; resourceId: string; reason: string } | undefined> {
  for (const [i, c] of children.entries()) {
    const existing = await engine.get(c.id).catch((e: unknown) => {
      if (isStrataError(e, 'NOT_FOUND')) return undefined;
      throw e;
    });
    if (!existing)
      await engine.submit(c.type, c.input, {
        id: c.id,
        accountId,
        resourceType: c.resourceType,
        resourceId: c.resourceId,
      });
    let job = await engine.wait(c.id, 60_000);
    while (job.state !== 'Succeeded' && job.state !== 'Failed') {
      ctx.signal.throwIfAborted();
      job = await engine.wait(c.id, 60_000);
    }
    ctx.progress(Math.floor((100 * (i + 1)) / children.length), `${c.resourceType} ${c.resourceId}`);
    if (job.state === 'Failed')
      return {
        resourceType: c.resourceType,
        resourceId: c.resourceId,
        reason: job.error?.message ?? 'failed',
      };
  }
  return undefined;
}
