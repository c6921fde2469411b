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
