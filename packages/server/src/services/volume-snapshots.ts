import {
  StrataError,
  validateName,
  volumeSnapshotMachine,
  type VolumeSnapshot,
  type VolumeSnapshotState,
} from '@strata/core';
import type { Database } from '../db/index.js';
import { ensureVisible, type Actor } from './actor.js';
import type { EventService } from './events.js';
import { newId } from './ids.js';
import { admitWithinLimits } from './resource-limits.js';
import { Where, iso, type Within, listPage, num, type ListQuery, type Page } from './sql.js';
import { applyTransition } from './transition.js';

export interface VolumeSnapshotView extends VolumeSnapshot {
  readonly sizeBytes: number;
}

export const toVolumeSnapshot = (r: Record<string, unknown>): VolumeSnapshotView => ({
  id: String(r['id']),
  accountId: String(r['account_id']),
  volumeId: String(r['volume_id']),
  name: String(r['name']),
  state: r['state'] as VolumeSnapshotState,
  backendRef: (r['backend_ref'] as string | null) ?? null,
  vmSnapshotId: (r['vm_snapshot_id'] as string | null) ?? null,
  sizeBytes: num(r['size_bytes'] ?? 0),
  createdAt: iso(r['created_at']),
});

export interface VolumeSnapshotFilter extends ListQuery {
  readonly accountId?: string;
  readonly volumeId?: string;
  readonly vmSnapshotId?: string;
  readonly state?: string;
  readonly name?: string;
  /** Leave out Deleted ones. */
  readonly live?: boolean;
}

/** Volume snapshot records: created in Creating by the snapshot job, which moves them on. */
export class VolumeSnapshotService {
  constructor(
    private readonly db: Database,
    private readonly events: EventService,
  ) {}

  async create(
    actor: Actor,
    input: { volumeId: string; name: string; vmSnapshotId?: string | null },
    within?: Within<VolumeSnapshotView>,
  ): Promise<VolumeSnapshotView> {
    const name = validateName('name', input.name);
    const vol = (await this.db.query('SELECT * FROM volumes WHERE id = $1', [input.volumeId]))[0];
    if (!vol) throw new StrataError('NOT_FOUND', { kind: 'volume', id: input.volumeId });
    ensureVisible(actor, 'volume', input.volumeId, String(vol['account_id']));
    if (vol['state'] !== 'Ready') {
      throw new StrataError('ILLEGAL_TRANSITION', {
        machine: 'volume',
        state: String(vol['state']),
        event: 'Snapshot',
      });
    }
    const id = newId('vsnap');
    const accountId = String(vol['account_id']);
    const row = await this.db.transaction(async (tx) => {
      // A VM snapshot's disks are counted as that VM snapshot.
      if (!input.vmSnapshotId) await admitWithinLimits(tx, accountId, { 'volume-snapshot': 1 });
      const rows = await tx.query(
        `INSERT INTO volume_snapshots (id, account_id, volume_id, name, state, vm_snapshot_id, size_bytes)
         VALUES ($1,$2,$3,$4,'Creating',$5,$6) RETURNING *`,
        [id, accountId, input.volumeId, name, input.vmSnapshotId ?? null, vol['size_bytes']],
      );
      await this.events.record(
        { accountId, type: 'volume-snapshot.Creating', resourceType: 'volume-snapshot', resourceId: id },
        tx,
      );
      if (within) await within(tx, toVolumeSnapshot(rows[0] ?? {}));
      return rows[0] ?? {};
    });
    return toVolumeSnapshot(row);
  }

  /**
   * Records for one consistent snapshot of several volumes, in one transaction: every volume known
   * and visible, Ready, listed once, and attached to one VM at most (the one the cut may freeze).
   * Answers the records (in the order asked) and that VM.
   */
  async createGroup(
    actor: Actor,
    input: { volumeIds: readonly string[]; name: string },
    within?: Within<{ snapshots: VolumeSnapshotView[]; vmId: string | null }>,
  ): Promise<{ snapshots: VolumeSnapshotView[]; vmId: string | null }> {
    const name = validateName('name', input.name);
    if (input.volumeIds.length === 0)
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'volumeIds',
        reason: 'must name at least one volume',
      });
    if (new Set(input.volumeIds).size !== input.volumeIds.length)
      throw new StrataError('INVALID_ARGUMENT', { field: 'volumeIds', reason: 'names a volume twice' });
    const rows = await this.db.query('SELECT * FROM volumes WHERE id = ANY($1)', [input.volumeIds]);
    const byId = new Map(rows.map((r) => [String(r['id']), r]));
    const vms = new Set<string>();
    for (const id of input.volumeIds) {
      const vol = byId.get(id);
      if (!vol) throw new StrataError('NOT_FOUND', { kind: 'volume', id });
      ensureVisible(actor, 'volume', id, String(vol['account_id']));
      if (vol['state'] !== 'Ready')
        throw new StrataError('ILLEGAL_TRANSITION', {
          machine: 'volume',
          state: String(vol['state']),
          event: 'Snapshot',
        });
      const vmId = vol['vm_id'] as string | null;
      if (vmId) vms.add(vmId);
    }
    if (vms.size > 1) throw new StrataError('SNAPSHOT_GROUP_SPANS_VMS', { vms: [...vms].sort().join(', ') });
    const vmId = vms.size === 1 ? [...vms][0]! : null;
    return this.db.transaction(async (tx) => {
      // Every volume of a group is visible to the caller, so one account owns them all.
      const owner = String(byId.get(input.volumeIds[0]!)!['account_id']);
      await admitWithinLimits(tx, owner, { 'volume-snapshot': input.volumeIds.length });
      const snapshots: VolumeSnapshotView[] = [];
      for (const volumeId of input.volumeIds) {
        const vol = byId.get(volumeId)!;
        const id = newId('vsnap');
        const accountId = String(vol['account_id']);
        const made = await tx.query(
          `INSERT INTO volume_snapshots (id, account_id, volume_id, name, state, size_bytes)
           VALUES ($1,$2,$3,$4,'Creating',$5) RETURNING *`,
          [id, accountId, volumeId, name, vol['size_bytes']],
        );
        await this.events.record(
          { accountId, type: 'volume-snapshot.Creating', resourceType: 'volume-snapshot', resourceId: id },
          tx,
        );
        snapshots.push(toVolumeSnapshot(made[0] ?? {}));
      }
      const group = { snapshots, vmId };
      if (within) await within(tx, group);
      return group;
    });
  }

  /** The volume snapshot holding one disk of a VM snapshot (its part, listed with vmSnapshotId). */
  async partOf(actor: Actor, vmSnapshotId: string, volumeId: string): Promise<VolumeSnapshotView> {
    const vs = (await this.db.query('SELECT account_id FROM vm_snapshots WHERE id = $1', [vmSnapshotId]))[0];
    if (!vs) throw new StrataError('NOT_FOUND', { kind: 'vm snapshot', id: vmSnapshotId });
    ensureVisible(actor, 'vm snapshot', vmSnapshotId, String(vs['account_id']));
    const row = (
      await this.db.query(
        `SELECT * FROM volume_snapshots WHERE vm_snapshot_id = $1 AND volume_id = $2 AND state = 'Ready'`,
        [vmSnapshotId, volumeId],
      )
    )[0];
    if (!row)
      throw new StrataError('NOT_FOUND', {
        kind: 'volume of vm snapshot',
        id: `${vmSnapshotId}/${volumeId}`,
      });
    return toVolumeSnapshot(row);
  }

  async get(actor: Actor, id: string): Promise<VolumeSnapshotView> {
    const row = (await this.db.query('SELECT * FROM volume_snapshots WHERE id = $1', [id]))[0];
    if (!row) throw new StrataError('NOT_FOUND', { kind: 'volume snapshot', id });
    ensureVisible(actor, 'volume snapshot', id, String(row['account_id']));
    return toVolumeSnapshot(row);
  }

  async list(actor: Actor, f: VolumeSnapshotFilter = {}): Promise<Page<VolumeSnapshotView>> {
    const where = new Where()
      .scope(actor, 't.account_id', f.accountId)
      .eq('t.volume_id', f.volumeId)
      .eq('t.vm_snapshot_id', f.vmSnapshotId)
      .eq('t.state', f.state)
      .eq('t.name', f.name);
    if (f.live) where.add(`t.state <> 'Deleted'`);
    return listPage(this.db, { columns: 't.*', from: 'volume_snapshots t', where }, f, toVolumeSnapshot);
  }

  async apply(
    actor: Actor,
    id: string,
    event: Parameters<typeof volumeSnapshotMachine.next>[1],
    opts: { jobId?: string; backendRef?: string | null } = {},
  ): Promise<VolumeSnapshotView> {
    await this.get(actor, id);
    const set = opts.backendRef !== undefined ? { backend_ref: opts.backendRef } : undefined;
    const { row } = await this.db.transaction((tx) =>
      applyTransition(tx, this.events, {
        table: 'volume_snapshots',
        kind: 'volume-snapshot',
        machine: volumeSnapshotMachine,
        id,
        event,
        set,
        jobId: opts.jobId ?? null,
      }),
    );
    return toVolumeSnapshot(row);
  }
}
