import { hostMachine, StrataError, vmMachine, type HostState } from '@strata/core';
import type { Queryable } from '../../db/index.js';
import type { JobDefinition, JobStep, Json, PriorOutputs } from '../../jobs/index.js';
import { JOB_TYPES } from '../../services/job-types.js';
import { applyTransition } from '../../services/transition.js';
import { reconnectGraceMs } from '../agent-reconnect.js';
import { hostRef, loadHost, storageContext, type OrchestrationDeps } from '../deps.js';
import { SERVER_STARTED_MS, timeMs } from '../../services/placement/lost-host.js';

export type HostFenceInput = { readonly hostId: string };

/** Host states a fence may start from: its agent is gone, or an earlier fence began. */
export const FENCEABLE: ReadonlySet<HostState> = new Set(['Disconnected', 'Fencing', 'Fenced']);

const POLL_MS = 1_000;

type Lost = { readonly hostId: string | null; readonly waitedMs?: number; readonly back?: string };

const hostRow = async (q: Queryable, hostId: string, lock = false) => {
  const row = (
    await q.query(`SELECT state, last_seen_at FROM hosts WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [hostId])
  )[0];
  if (!row) throw new StrataError('NOT_FOUND', { kind: 'host', id: hostId });
  return { state: row['state'] as HostState, lastSeenMs: timeMs(row['last_seen_at']) };
};

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

const lostHost = (prior: PriorOutputs): string | null =>
  (prior['wait-lost'] as Lost | undefined)?.hostId ?? null;

/**
 * The steps that fence one lost host, shared by the host.fence job and the start of a VM whose
 * host is lost (vm-power.ts). `target` names the host, or null for nothing to fence (every step
 * is then a no-op). `whenBack`: what a host whose agent came back during the wait means: `refuse`
 * (an admin's fence: HOST_FENCE_REFUSED) or `skip` (a start goes on without fencing).
 */
export function fenceSteps<I>(
  deps: OrchestrationDeps,
  target: (input: I, prior: PriorOutputs) => string | null,
  whenBack: 'refuse' | 'skip',
): JobStep<I>[] {
  return [
    {
      // A host only just Disconnected may be an agent restarting: wait out the reconnect grace
      // (counted from its last sign of life, or this server's start) before cutting it off.
      name: 'wait-lost',
      readOnly: true,
      run: async (ctx, input, prior): Promise<Lost> => {
        const hostId = target(input, prior);
        if (hostId === null) return { hostId: null };
        const graceMs = reconnectGraceMs();
        const began = Date.now();
        for (;;) {
          const h = await hostRow(deps.db, hostId);
          if (!FENCEABLE.has(h.state)) {
            if (whenBack === 'skip') return { hostId: null, back: h.state };
            throw new StrataError('HOST_FENCE_REFUSED', { host: hostId, reason: `it is ${h.state}` });
          }
          const since = Math.max(h.lastSeenMs ?? 0, SERVER_STARTED_MS);
          const left = h.state === 'Disconnected' ? since + graceMs - Date.now() : 0;
          if (left <= 0) return { hostId, waitedMs: Date.now() - began };
          ctx.progress(0, `waiting ${Math.ceil(left / 1000)} s for host ${hostId} to come back`);
          await sleep(Math.min(left, POLL_MS), ctx.signal);
          if (ctx.signal.aborted)
            throw new StrataError('UNAVAILABLE', { what: `fence of host ${hostId}`, reason: 'interrupted' });
        }
      },
    },
    {
      // From here placement and the agent channel see the host as being fenced: its agent coming
      // back does not make it Up (hostMachine).
      name: 'mark-fencing',
      transactional: true,
      run: async (ctx, input, prior) => {
        const hostId = lostHost(prior);
        if (hostId === null) return null;
        const h = await hostRow(ctx.tx, hostId, true);
        if (!FENCEABLE.has(h.state))
          throw new StrataError('HOST_FENCE_REFUSED', { host: hostId, reason: `it is ${h.state}` });
        await applyTransition(ctx.tx, deps.events, {
          table: 'hosts',
          kind: 'host',
          machine: hostMachine,
          id: hostId,
          event: 'Fence',
          jobId: ctx.jobId,
        });
        return { hostId };
      },
    },
    {
      // Every pool with per-host access cuts the host off (the drivers' fenceHost, where each
      // runs: tgt on its storage node, rbd here or there). Idempotent: a re-run finds less to do.
      name: 'fence-storage',
      run: async (ctx, input, prior) => {
        const hostId = lostHost(prior);
        if (hostId === null) return null;
        const host = hostRef(await loadHost(deps.db, hostId));
        const pools = await deps.db.query(
          `SELECT id, name, provider FROM storage_pools WHERE state <> 'Removed' ORDER BY id`,
        );
        const out: Json[] = [];
        for (const p of pools) {
          const poolId = String(p['id']);
          const driver = await deps.drivers.forPool(poolId);
          if (!driver.capabilities.access.perHost) {
            out.push({ poolId, type: driver.type, enforced: false });
            continue;
          }
          try {
            const r = await driver.fenceHost(storageContext(ctx), { host });
            out.push({ poolId, type: driver.type, ...r });
          } catch (e) {
            throw new StrataError(
              'HOST_FENCE_FAILED',
              { host: hostId, pool: String(p['name']), reason: (e as Error).message },
              { cause: e },
            );
          }
        }
        return { hostId, pools: out };
      },
    },
    {
      // The host is cut off: it is Fenced, and every VM the database still had running there is
      // Stopped (its QEMU, if alive, can no longer write its managed disks).
      name: 'mark-fenced',
      transactional: true,
      run: async (ctx, input, prior) => {
        const hostId = lostHost(prior);
        if (hostId === null) return null;
        const h = await hostRow(ctx.tx, hostId, true);
        if (h.state === 'Fencing')
          await applyTransition(ctx.tx, deps.events, {
            table: 'hosts',
            kind: 'host',
            machine: hostMachine,
            id: hostId,
            event: 'Fenced',
            jobId: ctx.jobId,
          });
        const vms = await ctx.tx.query(
          `SELECT id, state FROM vms WHERE host_id = $1 AND state IN ('Running', 'Stopping', 'Error') ORDER BY id`,
          [hostId],
        );
        for (const v of vms)
          await applyTransition(ctx.tx, deps.events, {
            table: 'vms',
            kind: 'vm',
            machine: vmMachine,
            id: String(v['id']),
            event: 'Stopped',
            jobId: ctx.jobId,
          });
        return { hostId, vmsStopped: vms.map((v) => String(v['id'])) };
      },
    },
  ];
}

/**
 * Fences a lost host (POST /v1/hosts/{id}/fence): waits out the reconnect grace, then cuts it off
 * every pool with per-host access and records it Fenced, its VMs Stopped. Nothing is undone on
 * failure: a half-done fence stays Fencing (the host stays out of placement) and is asked again.
 */
export function hostFenceJob(deps: OrchestrationDeps): JobDefinition<HostFenceInput> {
  return {
    type: JOB_TYPES.hostFence,
    steps: fenceSteps<HostFenceInput>(deps, (input) => input.hostId, 'refuse'),
  };
}
