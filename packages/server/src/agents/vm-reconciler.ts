import {
  isStrataError,
  type AgentStateReport,
  type DomainRunState,
  type Vm,
  type VmEvent,
} from '@strata/core';
import { SYSTEM_ACTOR } from '../services/actor.js';
import type { VmService } from '../services/vms.js';
import type { ReconcileHook } from './hub.js';

/** One correction of a VM row, or a drift the VM lifecycle has no event for (recorded only). */
export type VmCorrection =
  | { readonly vmId: string; readonly event: VmEvent; readonly why: string }
  | { readonly vmId: string; readonly event: null; readonly why: string };

const ALIVE: ReadonlySet<DomainRunState> = new Set(['running', 'paused', 'blocked', 'idle', 'pmsuspended']);
const DOWN: ReadonlySet<DomainRunState> = new Set(['shut off', 'shutdown']);

/**
 * What the database must learn from a host's real state. Domains are named by VM id
 * (orchestration/naming.ts). VMs in Starting, Stopping or Migrating belong to a job in flight and are left
 * alone; so are states the lifecycle cannot reach from here (a Stopped VM found running is
 * reported, not forced).
 */
export function planVmReconcile(
  vms: readonly Pick<Vm, 'id' | 'state'>[],
  report: AgentStateReport,
): VmCorrection[] {
  const domains = new Map(report.domains.map((d) => [d.name, d.state]));
  const out: VmCorrection[] = [];
  for (const vm of vms) {
    const domain = domains.get(vm.id);
    if (vm.state === 'Running') {
      if (domain === undefined) out.push({ vmId: vm.id, event: 'Fail', why: 'domain missing on its host' });
      else if (domain === 'crashed') out.push({ vmId: vm.id, event: 'Fail', why: 'domain crashed' });
      else if (DOWN.has(domain)) out.push({ vmId: vm.id, event: 'Stopped', why: `domain ${domain}` });
    } else if (vm.state === 'Error' && domain !== undefined) {
      if (ALIVE.has(domain)) out.push({ vmId: vm.id, event: 'Started', why: `domain ${domain}` });
      else if (DOWN.has(domain)) out.push({ vmId: vm.id, event: 'Stopped', why: `domain ${domain}` });
    } else if (vm.state === 'Stopped' && domain !== undefined && ALIVE.has(domain)) {
      out.push({ vmId: vm.id, event: null, why: `VM is Stopped but its domain is ${domain}` });
    }
  }
  return out;
}

/**
 * A reconcile hook for VM rows: on every (re)connection of a host, VMs placed on it follow what
 * the host really runs. Only on connection: mid-session reports race with jobs that stop and
 * start domains on purpose (a revert), and jobs record their own transitions.
 * Wire it with `hub.onReconcile(vmReconciler(services.vms, (id, why) => …))`.
 */
export function vmReconciler(
  vms: Pick<VmService, 'list' | 'apply'>,
  note: (hostId: string, vmId: string, why: string) => void = () => undefined,
): ReconcileHook {
  return async (ctx) => {
    if (!ctx.onConnect) return;
    const placed: Vm[] = [];
    let cursor: string | null = null;
    do {
      const page = await vms.list(SYSTEM_ACTOR, {
        hostId: ctx.hostId,
        limit: 500,
        ...(cursor ? { cursor } : {}),
      });
      placed.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    for (const c of planVmReconcile(placed, ctx.report)) {
      note(ctx.hostId, c.vmId, c.why);
      if (c.event === null) continue;
      try {
        await vms.apply(SYSTEM_ACTOR, c.vmId, c.event);
      } catch (e) {
        // a job moved the VM meanwhile: its own transition wins
        if (!isStrataError(e, 'ILLEGAL_TRANSITION')) throw e;
      }
    }
  };
}
