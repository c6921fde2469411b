import { hostMachine, isStrataError, type AgentStateReport } from '@strata/core';
import type { Database } from '../db/index.js';
import type { AgentPort } from '../orchestration/agent-port.js';
import type { EventService } from '../services/events.js';
import { applyTransition } from '../services/transition.js';
import type { ReconcileHook } from './hub.js';

const PLACED = new Set(['Starting', 'Running', 'Stopping']);

/**
 * The domains a fenced host still has that are Strata's VMs and not placed on it (every one, in
 * practice: the fence stopped its VMs, and placement sends a fenced host nothing). Whatever they
 * run is stale: a VM that now runs elsewhere, or one whose disks were cut from under it. Domains
 * that are no VM of ours are left alone.
 */
export function staleDomains(
  hostId: string,
  report: { readonly domains: ReadonlyArray<Pick<AgentStateReport['domains'][number], 'name'>> },
  vms: ReadonlyArray<{ readonly id: string; readonly hostId: string | null; readonly state: string }>,
): string[] {
  const byId = new Map(vms.map((v) => [v.id, v]));
  return report.domains
    .map((d) => d.name)
    .filter((name) => {
      const vm = byId.get(name);
      return vm !== undefined && !(vm.hostId === hostId && PLACED.has(vm.state));
    })
    .sort();
}

/**
 * A fenced host whose agent comes back: its stale domains are destroyed (never restarted: the VM
 * may run on another host now), then it is readmitted, Up. Its old grants stay revoked; a VM
 * placed there again is granted access afresh by its start. A host Fencing (its fence still
 * running) is left alone: it is readmitted at its agent's next connection after the fence.
 */
export function fencedHostReadmission(
  deps: { readonly db: Database; readonly events: EventService; readonly agent: AgentPort },
  note: (hostId: string, what: string) => void = () => undefined,
): ReconcileHook {
  return async (ctx) => {
    if (!ctx.onConnect) return;
    const [host] = await deps.db.query<{ state: string }>('SELECT state FROM hosts WHERE id = $1', [
      ctx.hostId,
    ]);
    if (host?.state !== 'Fenced') return;
    const names = ctx.report.domains.map((d) => d.name);
    const vms = (
      await deps.db.query<{ id: string; host_id: string | null; state: string }>(
        'SELECT id, host_id, state FROM vms WHERE id = ANY($1::text[])',
        [names],
      )
    ).map((v) => ({ id: v.id, hostId: v.host_id, state: v.state }));
    for (const vm of staleDomains(ctx.hostId, ctx.report, vms)) {
      await deps.agent.send(ctx.hostId, 'vm.destroy', { vm }, { timeoutMs: 120_000 });
      note(ctx.hostId, `stale domain ${vm} destroyed`);
    }
    try {
      await deps.db.transaction((tx) =>
        applyTransition(tx, deps.events, {
          table: 'hosts',
          kind: 'host',
          machine: hostMachine,
          id: ctx.hostId,
          event: 'Readmit',
        }),
      );
      note(ctx.hostId, 'readmitted: Up');
    } catch (e) {
      // fenced again meanwhile (an admin's new fence): that job's state wins
      if (!isStrataError(e, 'ILLEGAL_TRANSITION') && !isStrataError(e, 'CONFLICT')) throw e;
    }
  };
}
