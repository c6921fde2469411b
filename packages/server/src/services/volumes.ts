import {
  StrataError,
  validateName,
  volumeMachine,
  type Qos,
  type Volume,
  type VolumeState,
  type VolumeType,
} from '@strata/core';
import { ownerAccount } from './accounts.js';
import type { Database, Queryable } from '../db/index.js';
import { ensureVisible, type Actor } from './actor.js';
import { completeQos, qosFromRow, validateSize, type QosInput } from './catalog.js';
import type { EventService } from './events.js';
import { newId } from './ids.js';
import { admitWithinLimits } from './resource-limits.js';
import { Where, iso, type Within, listPage, num, type ListQuery, type Page } from './sql.js';
import { applyTransition } from './transition.js';
import { displayNameOf } from './vms.js';

export const toVolume = (r: Record<string, unknown>): Volume => ({
  id: String(r['id']),
  accountId: String(r['account_id']),
  name: String(r['name']),
  displayName: (r['display_name'] as string | null) ?? null,
  type: r['type'] as VolumeType,
  state: r['state'] as VolumeState,
  poolId: String(r['pool_id']),
  vmId: (r['vm_id'] as string | null) ?? null,
  deviceName: (r['device_name'] as string | null) ?? null,
  sizeBytes: num(r['size_bytes']),
  qos: qosFromRow(r),
  offeringId: (r['offering_id'] as string | null) ?? null,
  backendRef: (r['backend_ref'] as string | null) ?? null,
  createdAt: iso(r['created_at']),
});

export interface CreateVolumeInput {
  readonly name: string;
  readonly poolId: string;
  /** Required unless the offering fixes the size. */
  readonly sizeBytes?: number;
  readonly offeringId?: string | null;
  /** Required unless the offering fixes it; refused when the offering fixes it differently. */
  readonly qos?: QosInput | null;
  readonly type?: VolumeType;
  readonly vmId?: string | null;
  readonly accountId?: string;
}

export interface VolumeFilter extends ListQuery {
  readonly accountId?: string;
  readonly state?: string;
  readonly poolId?: string;
  readonly vmId?: string;
  readonly type?: string;
  readonly name?: string;
  /** Leave out deleted (Destroyed) volumes, as CloudStack's listVolumes does once they are expunged. */
  readonly live?: boolean;
}

/**
 * Volume records, with the checks that must hold before any backend is touched: size, QoS, pool
 * and admission (the sum of minimum IOPS of a pool's live volumes fits its capacityIops; the sum
 * of sizes fits capacityBytes). Admission runs under the pool's row lock, so two concurrent
 * creates cannot both take the last IOPS.
 */
export class VolumeService {
  constructor(
    private readonly db: Database,
    private readonly events: EventService,
  ) {}

  /** `within` runs in the creating transaction (e.g. to submit the job that builds the volume). */
  async create(actor: Actor, input: CreateVolumeInput, within?: Within<Volume>): Promise<Volume> {
    const name = validateName('name', input.name);
    const type = input.type ?? 'DATA';
    if (type !== 'ROOT' && type !== 'DATA')
      throw new StrataError('INVALID_ARGUMENT', { field: 'type', reason: 'must be ROOT or DATA' });
    const accountId = await ownerAccount(this.db, actor, input.accountId);
    const { sizeBytes, qos } = await this.resolveShape(input);
    if (input.vmId) await this.visibleVm(actor, input.vmId);
    const id = newId('vol');
    const row = await this.db.transaction(async (tx) => {
      await this.admit(tx, input.poolId, sizeBytes, qos?.minIops ?? 0);
      await admitWithinLimits(tx, accountId, {
        volume: 1,
        'primary-storage-bytes': sizeBytes,
        'min-iops': qos?.minIops ?? 0,
      });
      const rows = await tx.query(
        `INSERT INTO volumes (id, account_id, name, type, state, pool_id, vm_id, size_bytes, min_iops, max_iops, burst_iops, burst_seconds, offering_id)
         VALUES ($1,$2,$3,$4,'Allocated',$5,$6,$7,$8,$9,$10,$11,$12) RETURNING *`,
        [
          id,
          accountId,
          name,
          type,
          input.poolId,
          input.vmId ?? null,
          sizeBytes,
          qos?.minIops ?? null,
          qos?.maxIops ?? null,
          qos?.burstIops ?? null,
          qos?.burstSeconds ?? null,
          input.offeringId ?? null,
        ],
      );
      await this.events.record(
        { accountId, type: 'volume.Allocated', resourceType: 'volume', resourceId: id },
        tx,
      );
      if (within) await within(tx, toVolume(rows[0] ?? {}));
      return rows[0] ?? {};
    });
    return toVolume(row);
  }

  /** Sets the display name ('' or null clears it: the name shows). */
  async update(actor: Actor, id: string, input: { readonly displayName?: string | null }): Promise<Volume> {
    const volume = await this.get(actor, id);
    if (input.displayName === undefined) return volume;
    const rows = await this.db.query('UPDATE volumes SET display_name = $2 WHERE id = $1 RETURNING *', [
      id,
      displayNameOf(input.displayName),
    ]);
    return toVolume(rows[0] ?? {});
  }

  /** The size and QoS a volume would get from its input and offering (placement needs them first). */
  async resolveShape(
    input: Omit<CreateVolumeInput, 'poolId'>,
  ): Promise<{ sizeBytes: number; qos: Qos | null }> {
    if (!input.offeringId) {
      return {
        sizeBytes: validateSize('sizeBytes', input.sizeBytes),
        qos: input.qos ? completeQos(input.qos) : null,
      };
    }
    const o = (await this.db.query('SELECT * FROM disk_offerings WHERE id = $1', [input.offeringId]))[0];
    if (!o) throw new StrataError('NOT_FOUND', { kind: 'disk offering', id: input.offeringId });
    const fixedSize = o['size_bytes'] === null ? null : num(o['size_bytes']);
    let sizeBytes: number;
    if (o['custom_size'] || fixedSize === null)
      sizeBytes = validateSize('sizeBytes', input.sizeBytes ?? fixedSize);
    else {
      if (input.sizeBytes !== undefined && input.sizeBytes !== fixedSize) {
        throw new StrataError('INVALID_ARGUMENT', {
          field: 'sizeBytes',
          reason: `offering ${input.offeringId} fixes the size at ${fixedSize} bytes`,
        });
      }
      sizeBytes = fixedSize;
    }
    let qos = qosFromRow(o);
    if (o['custom_iops']) qos = input.qos ? completeQos(input.qos) : qos;
    else if (input.qos)
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'qos',
        reason: `offering ${input.offeringId} does not allow custom IOPS`,
      });
    return { sizeBytes, qos };
  }

  /**
   * Locks the pool row, then checks it is Up and has room for `addBytes` more bytes and
   * `addMinIops` more minimum IOPS (negative when a change frees some). The row's counters are
   * kept by a trigger, so this costs the same with 100,000 volumes as with one.
   */
  private async admit(tx: Queryable, poolId: string, addBytes: number, addMinIops: number): Promise<void> {
    const pool = (await tx.query('SELECT * FROM storage_pools WHERE id = $1 FOR UPDATE', [poolId]))[0];
    if (!pool) throw new StrataError('NOT_FOUND', { kind: 'storage pool', id: poolId });
    if (pool['state'] !== 'Up')
      throw new StrataError('CONFLICT', {
        reason: `storage pool ${poolId} is ${String(pool['state'])}, not Up`,
      });
    // capacityIops 0 means the pool promises no IOPS budget (the driver contract's "unlimited").
    const capacityIops = num(pool['capacity_iops']);
    const freeIops = capacityIops - num(pool['used_min_iops']);
    if (capacityIops > 0 && addMinIops > 0 && addMinIops > freeIops) {
      throw new StrataError('STORAGE_IOPS_EXHAUSTED', {
        pool: poolId,
        requested: addMinIops,
        available: Math.max(0, freeIops),
      });
    }
    const freeBytes = num(pool['capacity_bytes']) - num(pool['used_bytes']);
    if (addBytes > 0 && addBytes > freeBytes) {
      throw new StrataError('STORAGE_CAPACITY_EXHAUSTED', {
        pool: poolId,
        requested: addBytes,
        available: Math.max(0, freeBytes),
      });
    }
  }

  private async visibleVm(actor: Actor, vmId: string): Promise<Record<string, unknown>> {
    const vm = (await this.db.query('SELECT * FROM vms WHERE id = $1', [vmId]))[0];
    if (!vm) throw new StrataError('NOT_FOUND', { kind: 'vm', id: vmId });
    ensureVisible(actor, 'vm', vmId, String(vm['account_id']));
    return vm;
  }

  async get(actor: Actor, id: string): Promise<Volume> {
    const row = (await this.db.query('SELECT * FROM volumes WHERE id = $1', [id]))[0];
    if (!row) throw new StrataError('NOT_FOUND', { kind: 'volume', id });
    ensureVisible(actor, 'volume', id, String(row['account_id']));
    return toVolume(row);
  }

  async list(actor: Actor, f: VolumeFilter = {}): Promise<Page<Volume>> {
    const where = new Where()
      .scope(actor, 't.account_id', f.accountId)
      .eq('t.state', f.state)
      .eq('t.pool_id', f.poolId)
      .eq('t.vm_id', f.vmId)
      .eq('t.type', f.type)
      .eq('t.name', f.name);
    if (f.live) where.add(`t.state <> 'Destroyed'`);
    return listPage(this.db, { columns: 't.*', from: 'volumes t', where }, f, toVolume);
  }

  /** Applies a lifecycle event; `set` carries what the step learned (backend reference, size). */
  async apply(
    actor: Actor,
    id: string,
    event: Parameters<typeof volumeMachine.next>[1],
    opts: { jobId?: string; backendRef?: string | null; sizeBytes?: number } = {},
  ): Promise<Volume> {
    await this.get(actor, id);
    const set: Record<string, unknown> = {};
    if (opts.backendRef !== undefined) set['backend_ref'] = opts.backendRef;
    if (opts.sizeBytes !== undefined) set['size_bytes'] = validateSize('sizeBytes', opts.sizeBytes);
    const { row } = await this.db.transaction((tx) =>
      applyTransition(tx, this.events, {
        table: 'volumes',
        kind: 'volume',
        machine: volumeMachine,
        id,
        event,
        set,
        jobId: opts.jobId ?? null,
      }),
    );
    return toVolume(row);
  }

  /** Changes QoS on the record after admission with the new minimum (the job applies it live). */
  async setQos(actor: Actor, id: string, input: QosInput): Promise<Volume> {
    const vol = await this.get(actor, id);
    const qos = completeQos(input);
    const row = await this.db.transaction(async (tx) => {
      await this.admit(tx, vol.poolId, 0, qos.minIops - (vol.qos?.minIops ?? 0));
      await admitWithinLimits(tx, vol.accountId, { 'min-iops': qos.minIops - (vol.qos?.minIops ?? 0) });
      const rows = await tx.query(
        'UPDATE volumes SET min_iops = $2, max_iops = $3, burst_iops = $4, burst_seconds = $5 WHERE id = $1 RETURNING *',
        [id, qos.minIops, qos.maxIops, qos.burstIops, qos.burstSeconds],
      );
      await this.events.record(
        { accountId: vol.accountId, type: 'volume.QosChanged', resourceType: 'volume', resourceId: id },
        tx,
      );
      return rows[0] ?? {};
    });
    return toVolume(row);
  }

  /** Records an attachment (the attach job calls this after the hypervisor confirmed it). */
  async setAttachment(
    actor: Actor,
    id: string,
    vmId: string | null,
    deviceName: string | null,
  ): Promise<Volume> {
    const vol = await this.get(actor, id);
    if (vmId) await this.visibleVm(actor, vmId);
    if (vmId && vol.vmId && vol.vmId !== vmId)
      throw new StrataError('CONFLICT', { reason: `volume ${id} is attached to ${vol.vmId}` });
    const rows = await this.db.query(
      'UPDATE volumes SET vm_id = $2, device_name = $3 WHERE id = $1 RETURNING *',
      [id, vmId, deviceName],
    );
    await this.events.record({
      accountId: vol.accountId,
      type: vmId ? 'volume.Attached' : 'volume.Detached',
      resourceType: 'volume',
      resourceId: id,
    });
    return toVolume(rows[0] ?? {});
  }
}
