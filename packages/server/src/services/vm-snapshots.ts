import {
  StrataError,
  checkCreate,
  validateName,
  vmSnapshotMachine,
  type VmState,
  type Consistency,
  type VmSnapshot,
  type VmSnapshotEvent,
  type VmSnapshotState,
  type VmSnapshotType,
} from '@strata/core';
import type { Database } from '../db/index.js';
import { ensureVisible, type Actor } from './actor.js';
import type { EventService } from './events.js';
import { newId } from './ids.js';
import { admitWithinLimits } from './resource-limits.js';
import { Where, iso, text, type Within, listPage, type ListQuery, type Page } from './sql.js';
import { applyTransition } from './transition.js';

export interface VmSnapshotNode extends VmSnapshot {
  readonly children: VmSnapshotNode[];
}

const nullableNum = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export const toVmSnapshot = (r: Record<string, unknown>): VmSnapshot => ({
  id: String(r['id']),
  accountId: String(r['account_id']),
  vmId: String(r['vm_id']),
  name: String(r['name']),
  description: text(r['description']),
  state: r['state'] as VmSnapshotState,
  type: r['type'] as VmSnapshotType,
  parentId: (r['parent_id'] as string | null) ?? null,
  current: Boolean(r['is_current']),
  strategy: (r['strategy'] as string | null) ?? null,
  consistency: (r['consistency'] as Consistency | null) ?? null,
  freezeMs: nullableNum(r['freeze_ms']),
  cutSpreadMs: nullableNum(r['cut_spread_ms']),
  createdAt: iso(r['created_at']),
});

/** `current` is not stored on the snapshot: it is the VM's pointer, joined in. */
const COLUMNS = 't.*, (v.current_vm_snapshot_id = t.id) AS is_current';
const FROM = 'vm_snapshots t JOIN vms v ON v.id = t.vm_id';

export interface CreateVmSnapshotInput {
  readonly vmId: string;
  readonly name: string;
  readonly description?: string;
  /** CloudStack's snapshotmemory. */
  readonly snapshotMemory?: boolean;
  readonly quiesce?: string;
}

export interface VmSnapshotFilter extends ListQuery {
  readonly accountId?: string;
  readonly vmId?: string;
  readonly state?: string;
  readonly name?: string;
  readonly parentId?: string;
  /** Leave out removed snapshots (CloudStack's listVMSnapshot does not show deleted ones). */
  readonly live?: boolean;
}

/**
 * VM snapshot records: a tree per VM (parent = the VM's current snapshot when taken) and the
 * VM's current pointer. The snapshot job drives the states; revert moves the pointer.
 */
export class VmSnapshotService {
  constructor(
    private readonly db: Database,
    private readonly events: EventService,
  ) {}

  /** core's checkCreate under the VM's row lock, then a record in Allocated. */
  async create(actor: Actor, input: CreateVmSnapshotInput, within?: Within<VmSnapshot>): Promise<VmSnapshot> {
    const name = validateName('name', input.name);
    const description = input.description ?? '';
    const id = newId('vmsnap');
    const row = await this.db.transaction(async (tx) => {
      const vm = (await tx.query('SELECT * FROM vms WHERE id = $1 FOR UPDATE', [input.vmId]))[0];
      if (!vm) throw new StrataError('NOT_FOUND', { kind: 'vm', id: input.vmId });
      ensureVisible(actor, 'vm', input.vmId, String(vm['account_id']));
      const type: VmSnapshotType = input.snapshotMemory ? 'DiskAndMemory' : 'Disk';
      const existing = await tx.query(
        `SELECT name, state FROM vm_snapshots WHERE vm_id = $1 AND state NOT IN ('Removed','Error')`,
        [input.vmId],
      );
      // The rules live in core (docs/vm-snapshots.md, "Checks"): one place for every entry point.
      checkCreate({
        vm: { id: input.vmId, state: vm['state'] as VmState },
        name,
        type,
        existing: existing.map((r) => ({ name: String(r['name']), state: String(r['state']) })),
      });
      await admitWithinLimits(tx, String(vm['account_id']), { 'vm-snapshot': 1 });
      const rows = await tx.query(
        `INSERT INTO vm_snapshots (id, account_id, vm_id, name, description, state, type, parent_id, quiesce)
         VALUES ($1,$2,$3,$4,$5,'Allocated',$6,$7,$8) RETURNING *, false AS is_current`,
        [
          id,
          vm['account_id'],
          input.vmId,
          name,
          description,
          type,
          vm['current_vm_snapshot_id'] ?? null,
          input.quiesce ?? null,
        ],
      );
      await this.events.record(
        {
          accountId: String(vm['account_id']),
          type: 'vm-snapshot.Allocated',
          resourceType: 'vm-snapshot',
          resourceId: id,
        },
        tx,
      );
      if (within) await within(tx, toVmSnapshot(rows[0] ?? {}));
      return rows[0] ?? {};
    });
    return toVmSnapshot(row);
  }

  async get(actor: Actor, id: string): Promise<VmSnapshot> {
    const row = (await this.db.query(`SELECT ${COLUMNS} FROM ${FROM} WHERE t.id = $1`, [id]))[0];
    if (!row) throw new StrataError('NOT_FOUND', { kind: 'vm snapshot', id });
    ensureVisible(actor, 'vm snapshot', id, String(row['account_id']));
    return toVmSnapshot(row);
  }

  async list(actor: Actor, f: VmSnapshotFilter = {}): Promise<Page<VmSnapshot>> {
    const where = new Where()
      .scope(actor, 't.account_id', f.accountId)
      .eq('t.vm_id', f.vmId)
      .eq('t.state', f.state)
      .eq('t.name', f.name)
      .eq('t.parent_id', f.parentId);
    if (f.live) where.add(`t.state <> 'Removed'`);
    return listPage(this.db, { columns: COLUMNS, from: FROM, where }, f, toVmSnapshot);
  }

  /** One VM's snapshots as a forest (removed ones left out; their children hang from the nearest kept ancestor). */
  async tree(
    actor: Actor,
    vmId: string,
  ): Promise<{ vmId: string; currentId: string | null; roots: VmSnapshotNode[] }> {
    const vm = (
      await this.db.query('SELECT account_id, current_vm_snapshot_id FROM vms WHERE id = $1', [vmId])
    )[0];
    if (!vm) throw new StrataError('NOT_FOUND', { kind: 'vm', id: vmId });
    ensureVisible(actor, 'vm', vmId, String(vm['account_id']));
    const rows = await this.db.query(
      `SELECT ${COLUMNS} FROM ${FROM} WHERE t.vm_id = $1 ORDER BY t.created_at, t.id`,
      [vmId],
    );
    const all = new Map(rows.map((r) => [String(r['id']), toVmSnapshot(r)]));
    const nodes = new Map<string, VmSnapshotNode>();
    for (const s of all.values()) if (s.state !== 'Removed') nodes.set(s.id, { ...s, children: [] });
    const roots: VmSnapshotNode[] = [];
    for (const node of nodes.values()) {
      let parent = node.parentId;
      while (parent && !nodes.has(parent)) parent = all.get(parent)?.parentId ?? null;
      const into = parent ? nodes.get(parent)?.children : roots;
      (into ?? roots).push(node);
    }
    return { vmId, currentId: (vm['current_vm_snapshot_id'] as string | null) ?? null, roots };
  }

  /**
   * Applies a lifecycle event. Success of a create makes it the VM's current snapshot; success of
   * a revert moves the pointer to it; removal of the current one moves the pointer to its parent.
   */
  async apply(
    actor: Actor,
    id: string,
    event: VmSnapshotEvent,
    opts: {
      jobId?: string;
      result?: { strategy?: string; consistency?: Consistency; freezeMs?: number; cutSpreadMs?: number };
    } = {},
  ): Promise<VmSnapshot> {
    await this.get(actor, id);
    await this.db.transaction(async (tx) => {
      const set: Record<string, unknown> = {};
      const r = opts.result;
      if (r?.strategy !== undefined) set['strategy'] = r.strategy;
      if (r?.consistency !== undefined) set['consistency'] = r.consistency;
      if (r?.freezeMs !== undefined) set['freeze_ms'] = r.freezeMs;
      if (r?.cutSpreadMs !== undefined) set['cut_spread_ms'] = r.cutSpreadMs;
      const { from, to, row } = await applyTransition(tx, this.events, {
        table: 'vm_snapshots',
        kind: 'vm-snapshot',
        machine: vmSnapshotMachine,
        id,
        event,
        set,
        jobId: opts.jobId ?? null,
      });
      const vmId = String(row['vm_id']);
      if (to === 'Ready' && (from === 'Creating' || from === 'Reverting') && event === 'OperationSucceeded') {
        await tx.query('UPDATE vms SET current_vm_snapshot_id = $2 WHERE id = $1', [vmId, id]);
      }
      if (to === 'Removed') {
        await tx.query(
          'UPDATE vms SET current_vm_snapshot_id = $3 WHERE id = $1 AND current_vm_snapshot_id = $2',
          [vmId, id, row['parent_id'] ?? null],
        );
      }
    });
    return this.get(actor, id);
  }
}
