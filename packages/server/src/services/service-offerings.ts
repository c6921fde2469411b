import { StrataError, validateName, type ServiceOffering } from '@strata/core';
import type { Database } from '../db/index.js';
import { requireAdmin, type Actor } from './actor.js';
import { displayTextOf } from './catalog.js';
import { newId } from './ids.js';
import { Where, iso, listPage, num, uniqueAsExists, type ListQuery, type Page } from './sql.js';

const MiB = 1024 ** 2;
// The VM's own bounds (VmService.create): an offering a VM could not take is refused at once.
const MAX_CPUS = 256;
const MIN_MEMORY_BYTES = 32 * MiB;
const MAX_MEMORY_BYTES = 2 ** 42;

const toOffering = (r: Record<string, unknown>): ServiceOffering => ({
  id: String(r['id']),
  name: String(r['name']),
  displayText: typeof r['display_text'] === 'string' ? r['display_text'] : null,
  cpus: num(r['cpus']),
  memoryBytes: num(r['memory_bytes']),
  createdAt: iso(r['created_at']),
});

export interface CreateServiceOfferingInput {
  readonly name: string;
  readonly displayText?: string | null;
  readonly cpus: number;
  readonly memoryBytes: number;
}

/**
 * Compute offerings: vCPUs and memory an admin defines once and VMs are deployed with. A VM
 * keeps the offering it was deployed with (vm_service_offerings, written by the deploy), so
 * CloudStack's tools read it back.
 */
export class ServiceOfferingService {
  constructor(private readonly db: Database) {}

  async create(actor: Actor, input: CreateServiceOfferingInput): Promise<ServiceOffering> {
    requireAdmin(actor, 'Creating a service offering');
    const name = validateName('name', input.name);
    if (!Number.isInteger(input.cpus) || input.cpus < 1 || input.cpus > MAX_CPUS)
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'cpus',
        reason: `must be a whole number from 1 to ${MAX_CPUS}`,
      });
    const mem = input.memoryBytes;
    if (!Number.isInteger(mem) || mem < MIN_MEMORY_BYTES || mem > MAX_MEMORY_BYTES || mem % MiB !== 0)
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'memoryBytes',
        reason: 'must be whole MiB, at least 32 MiB and at most 4 TiB',
      });
    const rows = await this.db
      .query(
        `INSERT INTO service_offerings (id, name, display_text, cpus, memory_bytes) VALUES ($1,$2,$3,$4,$5) RETURNING *`,
        [newId('sofr'), name, displayTextOf(input.displayText), input.cpus, mem],
      )
      .catch((e: unknown) => uniqueAsExists(e, 'service offering', name));
    return toOffering(rows[0] ?? {});
  }

  async get(_actor: Actor, id: string): Promise<ServiceOffering> {
    const row = (await this.db.query('SELECT * FROM service_offerings WHERE id = $1', [id]))[0];
    if (!row) throw new StrataError('NOT_FOUND', { kind: 'service offering', id });
    return toOffering(row);
  }

  async list(_actor: Actor, f: ListQuery & { name?: string } = {}): Promise<Page<ServiceOffering>> {
    return listPage(
      this.db,
      { columns: 't.*', from: 'service_offerings t', where: new Where().eq('t.name', f.name) },
      f,
      toOffering,
    );
  }

  /** Renames an offering or changes its display text; CPU and memory stay (VMs run with them). */
  async update(
    actor: Actor,
    id: string,
    input: { readonly name?: string; readonly displayText?: string | null },
  ): Promise<ServiceOffering> {
    requireAdmin(actor, 'Changing a service offering');
    const current = await this.get(actor, id);
    const name = input.name === undefined ? current.name : validateName('name', input.name);
    const text = input.displayText === undefined ? current.displayText : displayTextOf(input.displayText);
    const rows = await this.db
      .query('UPDATE service_offerings SET name = $2, display_text = $3 WHERE id = $1 RETURNING *', [
        id,
        name,
        text,
      ])
      .catch((e: unknown) => uniqueAsExists(e, 'service offering', name));
    return toOffering(rows[0] ?? {});
  }

  async remove(actor: Actor, id: string): Promise<void> {
    requireAdmin(actor, 'Removing a service offering');
    await this.get(actor, id);
    const used = await this.db.query(
      `SELECT 1 FROM vm_service_offerings o JOIN vms v ON v.id = o.vm_id
        WHERE o.offering_id = $1 AND v.state <> 'Destroyed' LIMIT 1`,
      [id],
    );
    if (used.length)
      throw new StrataError('CONFLICT', { reason: `service offering ${id} is used by live VMs` });
    await this.db.query('DELETE FROM service_offerings WHERE id = $1', [id]);
  }

  /** The offering of each given VM that has one. */
  async ofVms(vmIds: readonly string[]): Promise<ReadonlyMap<string, ServiceOffering>> {
    const out = new Map<string, ServiceOffering>();
    if (vmIds.length === 0) return out;
    const rows = await this.db.query(
      `SELECT o.vm_id, s.* FROM vm_service_offerings o JOIN service_offerings s ON s.id = o.offering_id
        WHERE o.vm_id = ANY($1)`,
      [[...vmIds]],
    );
    for (const r of rows) out.set(String(r['vm_id']), toOffering(r));
    return out;
  }
}
