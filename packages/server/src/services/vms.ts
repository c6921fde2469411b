import { StrataError, validateName, vmMachine, type Vm, type VmEvent, type VmState } from '@strata/core';
import { ownerAccount } from './accounts.js';
import type { Database, Queryable } from '../db/index.js';
import { ensureVisible, requireAdmin, type Actor } from './actor.js';
import type { EventService } from './events.js';
import { newId } from './ids.js';
import { admitWithinLimits } from './resource-limits.js';
import {
  Where,
  iso,
  isoOrNull,
  type Within,
  listPage,
  num,
  uniqueAsExists,
  type ListQuery,
  type Page,
} from './sql.js';
import { applyTransition } from './transition.js';

export const toVm = (r: Record<string, unknown>): Vm => ({
  id: String(r['id']),
  accountId: String(r['account_id']),
  name: String(r['name']),
  displayName: (r['display_name'] as string | null) ?? null,
  state: r['state'] as VmState,
  hostId: (r['host_id'] as string | null) ?? null,
  templateId: (r['template_id'] as string | null) ?? null,
  cpus: num(r['cpus']),
  memoryBytes: num(r['memory_bytes']),
  currentVmSnapshotId: (r['current_vm_snapshot_id'] as string | null) ?? null,
  destroyedAt: isoOrNull(r['destroyed_at']),
  createdAt: iso(r['created_at']),
});

/** A display name as stored: empty or null clears it (the name shows). */
export function displayNameOf(text: string | null): string | null {
  return text === null || text === '' ? null : validateName('displayName', text);
}

export interface CreateVmInput {
  readonly name: string;
  readonly templateId?: string | null;
  readonly hostId?: string | null;
  readonly cpus?: number;
  readonly memoryBytes?: number;
  /** Admins may create a VM for another account. */
  readonly accountId?: string;
}

export interface VmFilter extends ListQuery {
  readonly accountId?: string;
  readonly state?: string;
  readonly hostId?: string;
  readonly name?: string;
}

/** VM records. Starting and stopping are jobs (the agent confirms); they move state through here. */
export class VmService {
  constructor(
    private readonly db: Database,
    private readonly events: EventService,
  ) {}

  async create(actor: Actor, input: CreateVmInput, within?: Within<Vm>): Promise<Vm> {
    const name = validateName('name', input.name);
    const accountId = await ownerAccount(this.db, actor, input.accountId);
    const cpus = input.cpus ?? 1;
    const memoryBytes = input.memoryBytes ?? 128 * 1024 * 1024;
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 256)
      throw new StrataError('INVALID_ARGUMENT', { field: 'cpus', reason: 'must be 1 to 256' });
    if (!Number.isInteger(memoryBytes) || memoryBytes < 32 * 1024 * 1024 || memoryBytes > 2 ** 42) {
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'memoryBytes',
        reason: 'must be from 32 MiB to 4 TiB',
      });
    }
    if (
      input.templateId &&
      !(await this.db.query('SELECT 1 FROM templates WHERE id = $1', [input.templateId])).length
    ) {
      throw new StrataError('NOT_FOUND', { kind: 'template', id: input.templateId });
    }
    if (input.hostId) requireAdmin(actor, 'name the host a VM runs on');
    if (input.hostId && !(await this.db.query('SELECT 1 FROM hosts WHERE id = $1', [input.hostId])).length) {
      throw new StrataError('NOT_FOUND', { kind: 'host', id: input.hostId });
    }
    const id = newId('vm');
    const row = await this.db
      .transaction(async (tx) => {
        await admitWithinLimits(tx, accountId, { vm: 1 });
        const rows = await tx.query(
          `INSERT INTO vms (id, account_id, name, state, host_id, template_id, cpus, memory_bytes) VALUES ($1,$2,$3,'Stopped',$4,$5,$6,$7) RETURNING *`,
          [id, accountId, name, input.hostId ?? null, input.templateId ?? null, cpus, memoryBytes],
        );
        await this.events.record({ accountId, type: 'vm.Created', resourceType: 'vm', resourceId: id }, tx);
        if (within) await within(tx, toVm(rows[0] ?? {}));
        return rows[0] ?? {};
      })
      .catch((e: unknown) => uniqueAsExists(e, 'vm', name));
    return toVm(row);
  }

  async get(actor: Actor, id: string): Promise<Vm> {
    const row = (await this.db.query('SELECT * FROM vms WHERE id = $1', [id]))[0];
    if (!row) throw new StrataError('NOT_FOUND', { kind: 'vm', id });
    ensureVisible(actor, 'vm', id, String(row['account_id']));
    return toVm(row);
  }

  async list(actor: Actor, f: VmFilter = {}): Promise<Page<Vm>> {
    const where = new Where()
      .scope(actor, 't.account_id', f.accountId)
      .eq('t.state', f.state)
      .eq('t.host_id', f.hostId)
      .eq('t.name', f.name);
    // Expunged VMs are gone, as in CloudStack: listed only when that state is asked for.
    if (!f.state) where.add(`t.state <> 'Expunged'`);
    return listPage(this.db, { columns: 't.*', from: 'vms t', where }, f, toVm);
  }

  /** Sets the display name ('' or null clears it: the name shows); any state but Expunged. */
  async update(actor: Actor, id: string, input: { readonly displayName?: string | null }): Promise<Vm> {
    const vm = await this.get(actor, id);
    if (input.displayName === undefined) return vm;
    const text = displayNameOf(input.displayName);
    const rows = await this.db.query('UPDATE vms SET display_name = $2 WHERE id = $1 RETURNING *', [
      id,
      text,
    ]);
    return toVm(rows[0] ?? {});
  }

  /** Applies a lifecycle event (ILLEGAL_TRANSITION when the VM's state does not allow it). */
  async apply(
    actor: Actor,
    id: string,
    event: VmEvent,
    opts: { jobId?: string; hostId?: string | null } = {},
  ): Promise<Vm> {
    await this.get(actor, id);
    const set = opts.hostId !== undefined ? { host_id: opts.hostId } : undefined;
    const { row } = await this.db.transaction((tx) =>
      applyTransition(tx, this.events, {
        table: 'vms',
        kind: 'vm',
        machine: vmMachine,
        id,
        event,
        set,
        jobId: opts.jobId ?? null,
      }),
    );
    return toVm(row);
  }

  /** Marks a VM Destroyed in the caller's transaction (markVmDestroyed). */
  markDestroyed(tx: Queryable, id: string, jobId: string | null = null) {
    return markVmDestroyed(tx, this.events, id, jobId);
  }

  /** A VM record that never got a job (a deploy refused after it was written) is destroyed at once. */
  async discard(actor: Actor, id: string): Promise<Vm> {
    await this.get(actor, id);
    return (await this.db.transaction((tx) => this.markDestroyed(tx, id))).vm;
  }

  /**
   * Brings a Destroyed VM back, Stopped (CloudStack recoverVirtualMachine); its detached DATA
   * volumes stay detached. ALREADY_EXISTS when another live VM took its name meanwhile; a VM
   * whose expunge has begun is past recovery (ILLEGAL_TRANSITION).
   */
  async recover(actor: Actor, id: string): Promise<Vm> {
    const vm = await this.get(actor, id);
    vmMachine.next(vm.state, 'Recover');
    const row = await this.db
      .transaction(async (tx) => {
        // A destroyed VM no longer counts against the account's VM limit: coming back, it does again.
        await admitWithinLimits(tx, vm.accountId, { vm: 1 });
        const { row } = await applyTransition(tx, this.events, {
          table: 'vms',
          kind: 'vm',
          machine: vmMachine,
          id,
          event: 'Recover',
          set: { destroyed_at: null },
        });
        return row;
      })
      .catch((e: unknown) => uniqueAsExists(e, 'vm', vm.name));
    return toVm(row);
  }
}

/**
 * Marks a VM record Destroyed in the caller's transaction (the destroy job's step, or a deploy
 * that queued nothing): its DATA volumes are detached and kept, as in CloudStack; its ROOT
 * volume stays with it until the expunge. Answers the VM and the volumes it let go.
 */
export async function markVmDestroyed(
  tx: Queryable,
  events: EventService,
  id: string,
  jobId: string | null,
): Promise<{ vm: Vm; detached: string[] }> {
  const detached = await tx.query(
    `UPDATE volumes SET vm_id = NULL, device_name = NULL WHERE vm_id = $1 AND type = 'DATA' RETURNING id`,
    [id],
  );
  const { row } = await applyTransition(tx, events, {
    table: 'vms',
    kind: 'vm',
    machine: vmMachine,
    id,
    event: 'Destroy',
    set: { destroyed_at: new Date().toISOString() },
    jobId,
  });
  return { vm: toVm(row), detached: detached.map((r) => String(r['id'])) };
}
