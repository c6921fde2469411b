import { StrataError, type ChainLayer } from '@strata/core';
import type { StepContext } from '../jobs/index.js';
import type { OrchestrationDeps } from '../orchestration/deps.js';
import type { StoredPlan } from './create-job.js';
import { poolFiles } from '../orchestration/pool-agent.js';

/**
 * How many images a qcow2 disk's active chain may hold (the active layer and every backing file,
 * the template's base image included). Each hypervisor snapshot adds one layer, and every read of
 * data the newest layers do not hold walks down the chain: the bound keeps the guest's I/O from
 * decaying as snapshots accumulate.
 */
export const DEFAULT_MAX_CHAIN_DEPTH = 8;
/** The active layer, the snapshot's frozen file and one more below: anything less cannot stream. */
export const MIN_MAX_CHAIN_DEPTH = 3;
export const MAX_CHAIN_DEPTH_ENV = 'STRATA_MAX_CHAIN_DEPTH';

/** The configured bound (STRATA_MAX_CHAIN_DEPTH), or the default. */
export function maxChainDepth(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[MAX_CHAIN_DEPTH_ENV];
  if (text === undefined || text.trim() === '') return DEFAULT_MAX_CHAIN_DEPTH;
  const n = Number(text);
  if (!Number.isInteger(n) || n < MIN_MAX_CHAIN_DEPTH) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: MAX_CHAIN_DEPTH_ENV,
      reason: `"${text}" is not an integer of at least ${MIN_MAX_CHAIN_DEPTH}`,
    });
  }
  return n;
}

/**
 * Where to stream a disk's active layer onto before a snapshot, so that the chain stays within
 * `maxDepth` once the cut puts its overlay on top; null when there is room. It streams down to
 * half the bound (at least 2: the active layer over its base), so a VM that snapshots often streams
 * every few snapshots rather than at each one.
 */
export function streamPlan(
  chain: readonly ChainLayer[],
  maxDepth: number,
): { readonly base: ChainLayer; readonly depthAfter: number } | null {
  const depth = chain.length;
  if (depth + 1 <= maxDepth) return null;
  const depthAfter = Math.max(2, Math.floor(maxDepth / 2));
  // Streaming onto chain[j] leaves [active, chain[j], ..., bottom]: 1 + depth - j images.
  const base = chain[depth + 1 - depthAfter];
  if (!base) return null;
  return { base, depthAfter };
}

export type ChainDepthOutcome = {
  readonly volumeId: string;
  readonly target: string;
  readonly depthBefore: number;
  readonly depthAfter: number;
  /** The image the active layer was streamed onto; null when the chain had room. */
  readonly base: string | null;
  readonly ms: number;
};

/**
 * The chain-depth policy, run before a snapshot's cut: every qcow2 disk whose active chain would
 * grow past the bound has the data of its upper backing layers streamed into its active layer,
 * which then backs onto a shallower ancestor (a block stream on a running VM, a safe `qemu-img
 * rebase` on a stopped one). Only the active layer changes, and a stream never changes what the
 * guest reads; the skipped layers are other snapshots' frozen files and stay exactly as they are,
 * so every node of the tree still reverts. The active layer keeps its path, so the database has
 * nothing to change: the depth reached is read back from disk and is the step's output.
 */
export async function keepChainsShallow(
  deps: Pick<OrchestrationDeps, 'agent' | 'db'>,
  plan: StoredPlan,
  ctx: Pick<StepContext, 'signal'>,
  maxDepth: number = maxChainDepth(),
): Promise<ChainDepthOutcome[]> {
  const disks = plan.disks.filter((d) => d.frozenPath && d.overlayPath);
  return Promise.all(
    disks.map(async (d): Promise<ChainDepthOutcome> => {
      const active = d.frozenPath!;
      // The chain is read, and a stopped disk rebased, by an agent that mounts the pool.
      const files = await poolFiles(deps, d.poolId, plan.hostId);
      const chainOf = async () => {
        const layers = await files.chain(active, ctx.signal);
        if (!layers) throw new StrataError('NOT_FOUND', { kind: 'active layer', id: active });
        return layers;
      };
      const chain = await chainOf();
      const step = streamPlan(chain, maxDepth);
      const outcome = { volumeId: d.volumeId, target: d.target, depthBefore: chain.length };
      if (!step) return { ...outcome, depthAfter: chain.length, base: null, ms: 0 };
      const t0 = performance.now();
      if (plan.vmRunning && plan.hostId) {
        await deps.agent.send(
          plan.hostId,
          'snapshot.blockStream',
          { vm: plan.vmName, target: d.target, base: step.base.path },
          { signal: ctx.signal },
        );
      } else {
        await files.rebase(active, chain[0]!.format === 'raw' ? 'raw' : 'qcow2', step.base, ctx.signal);
      }
      const after = await chainOf();
      if (after.length > step.depthAfter || after[1]?.path !== step.base.path) {
        throw new StrataError('CHAIN_DEPTH_NOT_REDUCED', {
          vm: plan.vmName,
          target: d.target,
          depth: after.length,
          base: step.base.path,
          maxDepth,
        });
      }
      return { ...outcome, depthAfter: after.length, base: step.base.path, ms: performance.now() - t0 };
    }),
  );
}
