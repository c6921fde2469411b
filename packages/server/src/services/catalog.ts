import {
  MAX_VOLUME_BYTES,
  StrataError,
  validateName,
  validateQos,
  type DiskOffering,
  type Qos,
  type Template,
} from '@strata/core';
import type { Database } from '../db/index.js';
import { isAdmin, requireAdmin, type Actor } from './actor.js';
import { newId } from './ids.js';
import { storageTagsFromRow, storageTagsOf } from './storage-tags.js';
import { checkTemplatePath, type TemplateFiles } from './template-paths.js';
import { Where, iso, listPage, num, uniqueAsExists, type ListQuery, type Page } from './sql.js';
import { inUse } from './in-use.js';

export function qosFromRow(r: Record<string, unknown>): Qos | null {
  if (r['max_iops'] === null || r['max_iops'] === undefined) return null;
  return {
    minIops: num(r['min_iops'] ?? 0),
    maxIops: num(r['max_iops']),
    burstIops: num(r['burst_iops'] ?? r['max_iops']),
    burstSeconds: num(r['burst_seconds'] ?? 0),
  };
}

/** A QoS as given by a caller: burst and burst seconds may be left out (burst = max, 60 s). */
export interface QosInput {
  readonly minIops: number;
  readonly maxIops: number;
  readonly burstIops?: number;
  readonly burstSeconds?: number;
}

export function completeQos(q: QosInput): Qos {
  return validateQos({
    minIops: q.minIops,
    maxIops: q.maxIops,
    burstIops: q.burstIops ?? q.maxIops,
    burstSeconds: q.burstSeconds ?? 60,
  });
}

/** A display text: free words up to 255 characters, no control characters; empty means none. */
export function displayTextOf(text: string | null | undefined): string | null {
  if (text === undefined || text === null || text === '') return null;
  return validateName('displayText', text, 255);
}

/** Refuses zero, negative, fractional and absurd sizes with INVALID_ARGUMENT. */
export function validateSize(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new StrataError('INVALID_ARGUMENT', {
      field,
      reason: 'must be a whole number of bytes greater than 0',
    });
  }
  if (value > MAX_VOLUME_BYTES)
    throw new StrataError('INVALID_ARGUMENT', {
      field,
      reason: `must be at most ${MAX_VOLUME_BYTES} bytes (64 TiB)`,
    });
  return value;
}

const toOffering = (r: Record<string, unknown>): DiskOffering => ({
  id: String(r['id']),
  name: String(r['name']),
  displayText: typeof r['display_text'] === 'string' ? r['display_text'] : null,
  sizeBytes: r['size_bytes'] === null ? null : num(r['size_bytes']),
  customSize: Boolean(r['custom_size']),
  qos: qosFromRow(r),
  customIops: Boolean(r['custom_iops']),
  hypervisorSnapshotReserve: num(r['hypervisor_snapshot_reserve']),
  storageTags: storageTagsFromRow(r),
  createdAt: iso(r['created_at']),
});

const toTemplate = (r: Record<string, unknown>): Template => ({
  id: String(r['id']),
  name: String(r['name']),
  path: String(r['path']),
  format: r['format'] as 'qcow2' | 'raw',
  sizeBytes: num(r['size_bytes']),
  kernel:
    typeof r['kernel_path'] === 'string'
      ? {
          path: r['kernel_path'],
          initrd: (r['initrd_path'] as string | null) ?? null,
          cmdline: (r['cmdline'] as string | null) ?? null,
        }
      : null,
  createdAt: iso(r['created_at']),
});

/** What a tenant sees of a template: no file paths (they are the operator's filesystem). */
export type TemplateSummary = Pick<Template, 'id' | 'name' | 'format' | 'sizeBytes' | 'createdAt'>;

function templateFor(actor: Actor, t: Template): Template | TemplateSummary {
  if (isAdmin(actor)) return t;
  return { id: t.id, name: t.name, format: t.format, sizeBytes: t.sizeBytes, createdAt: t.createdAt };
}

export interface CreateTemplateInput {
  readonly name: string;
  readonly path: string;
  readonly format: 'qcow2' | 'raw';
  /** The virtual size; absent: read from the file (qemu-img info). */
  readonly sizeBytes?: number;
  readonly kernel?: {
    readonly path: string;
    readonly initrd?: string | null;
    readonly cmdline?: string | null;
  } | null;
}

export interface CreateOfferingInput {
  readonly name: string;
  readonly displayText?: string | null;
  /** Fixed size; omit with customSize=true to let each volume choose. */
  readonly sizeBytes?: number | null;
  readonly customSize?: boolean;
  readonly qos?: QosInput | null;
  /** CloudStack's customizediops: each volume gives its own min/max IOPS. */
  readonly customIops?: boolean;
  /** Percent of extra space kept for hypervisor snapshots (0–100). */
  readonly hypervisorSnapshotReserve?: number;
  /** Its volumes go only to pools carrying every one of these tags. */
  readonly storageTags?: readonly string[];
}

/** Disk offerings and templates: an admin's catalogue, readable by every account. */
export class DiskOfferingService {
  constructor(private readonly db: Database) {}

  async create(actor: Actor, input: CreateOfferingInput): Promise<DiskOffering> {
    requireAdmin(actor, 'Creating a disk offering');
    const name = validateName('name', input.name);
    const customSize = Boolean(input.customSize);
    const sizeBytes =
      input.sizeBytes === undefined || input.sizeBytes === null
        ? null
        : validateSize('sizeBytes', input.sizeBytes);
    if (sizeBytes === null && !customSize)
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'sizeBytes',
        reason: 'is required unless customSize is true',
      });
    const qos = input.qos ? completeQos(input.qos) : null;
    const reserve = input.hypervisorSnapshotReserve ?? 0;
    if (!Number.isInteger(reserve) || reserve < 0 || reserve > 100) {
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'hypervisorSnapshotReserve',
        reason: 'must be a whole percent from 0 to 100',
      });
    }
    const rows = await this.db
      .query(
        `INSERT INTO disk_offerings (id, name, size_bytes, custom_size, min_iops, max_iops, burst_iops, burst_seconds, custom_iops, hypervisor_snapshot_reserve, display_text, storage_tags)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING *`,
        [
          newId('dofr'),
          name,
          sizeBytes,
          customSize,
          qos?.minIops ?? null,
          qos?.maxIops ?? null,
          qos?.burstIops ?? null,
          qos?.burstSeconds ?? null,
          Boolean(input.customIops),
          reserve,
          displayTextOf(input.displayText),
          JSON.stringify(storageTagsOf('storageTags', input.storageTags ?? [])),
        ],
      )
      .catch((e: unknown) => uniqueAsExists(e, 'disk offering', name));
    return toOffering(rows[0] ?? {});
  }

  /**
   * Renames an offering or changes its display text or storage tags (new volumes are placed by
   * them; existing ones stay where they are); size and QoS stay (volumes were made with them).
   */
  async update(
    actor: Actor,
    id: string,
    input: {
      readonly name?: string;
      readonly displayText?: string | null;
      readonly storageTags?: readonly string[];
    },
  ): Promise<DiskOffering> {
    requireAdmin(actor, 'Changing a disk offering');
    const current = await this.get(actor, id);
    const name = input.name === undefined ? current.name : validateName('name', input.name);
    const text = input.displayText === undefined ? current.displayText : displayTextOf(input.displayText);
    const tags =
      input.storageTags === undefined ? current.storageTags : storageTagsOf('storageTags', input.storageTags);
    const rows = await this.db
      .query(
        'UPDATE disk_offerings SET name = $2, display_text = $3, storage_tags = $4 WHERE id = $1 RETURNING *',
        [id, name, text, JSON.stringify(tags)],
      )
      .catch((e: unknown) => uniqueAsExists(e, 'disk offering', name));
    return toOffering(rows[0] ?? {});
  }

  async get(_actor: Actor, id: string): Promise<DiskOffering> {
    const row = (await this.db.query('SELECT * FROM disk_offerings WHERE id = $1', [id]))[0];
    if (!row) throw new StrataError('NOT_FOUND', { kind: 'disk offering', id });
    return toOffering(row);
  }

  async list(_actor: Actor, f: ListQuery & { name?: string } = {}): Promise<Page<DiskOffering>> {
    return listPage(
      this.db,
      { columns: 't.*', from: 'disk_offerings t', where: new Where().eq('t.name', f.name) },
      f,
      toOffering,
    );
  }

  async remove(actor: Actor, id: string): Promise<void> {
    requireAdmin(actor, 'Removing a disk offering');
    await this.get(actor, id);
    const used = await this.db.query(
      `SELECT 1 FROM volumes WHERE offering_id = $1 AND state <> 'Destroyed' LIMIT 1`,
      [id],
    );
    if (used.length)
      throw new StrataError('CONFLICT', { reason: `disk offering ${id} is used by live volumes` });
    await this.db.query('DELETE FROM disk_offerings WHERE id = $1', [id]);
  }
}

export class TemplateService {
  private files: TemplateFiles | null = null;

  constructor(
    private readonly db: Database,
    /** Where template files may be (ServerConfig.templateDirs). */
    private readonly templateDirs: readonly string[] = [],
  ) {}

  /** How template files are checked: through the agents, once the agent channel runs. */
  useFiles(files: TemplateFiles): void {
    this.files = files;
  }

  async create(actor: Actor, input: CreateTemplateInput): Promise<Template> {
    requireAdmin(actor, 'Registering a template');
    const name = validateName('name', input.name);
    const path = validateName('path', input.path, 4096);
    if (input.format !== 'qcow2' && input.format !== 'raw')
      throw new StrataError('INVALID_ARGUMENT', { field: 'format', reason: 'must be qcow2 or raw' });
    const k = input.kernel ?? null;
    const kernel = k ? validateName('kernel.path', k.path, 4096) : null;
    const initrd = k?.initrd ? validateName('kernel.initrd', k.initrd, 4096) : null;
    const cmdline = k?.cmdline ? validateName('kernel.cmdline', k.cmdline, 4096) : null;
    checkTemplatePath('path', path, this.templateDirs);
    if (kernel) checkTemplatePath('kernel.path', kernel, this.templateDirs);
    if (initrd) checkTemplatePath('kernel.initrd', initrd, this.templateDirs);
    const given = input.sizeBytes === undefined ? null : validateSize('sizeBytes', input.sizeBytes);
    // The files are the hosts' and the storage node's: an agent that has them checks them there.
    const files = this.files;
    if (!files)
      throw new StrataError('UNAVAILABLE', {
        what: 'the template file check',
        reason: 'this server runs no agent channel',
      });
    const read = await files.inspect(
      'path',
      path,
      this.templateDirs,
      given === null ? input.format : undefined,
    );
    if (kernel) await files.inspect('kernel.path', kernel, this.templateDirs);
    if (initrd) await files.inspect('kernel.initrd', initrd, this.templateDirs);
    const size = given ?? read;
    if (size === null)
      throw new StrataError('INVALID_ARGUMENT', { field: 'path', reason: 'no virtual size was read' });
    const rows = await this.db
      .query(
        'INSERT INTO templates (id, name, path, format, size_bytes, kernel_path, initrd_path, cmdline) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING *',
        [newId('tmpl'), name, path, input.format, size, kernel, initrd, cmdline],
      )
      .catch((e: unknown) => uniqueAsExists(e, 'template', name));
    return toTemplate(rows[0] ?? {});
  }

  async get(actor: Actor, id: string): Promise<Template | TemplateSummary> {
    const row = (await this.db.query('SELECT * FROM templates WHERE id = $1', [id]))[0];
    if (!row) throw new StrataError('NOT_FOUND', { kind: 'template', id });
    return templateFor(actor, toTemplate(row));
  }

  async list(
    actor: Actor,
    f: ListQuery & { name?: string; format?: string } = {},
  ): Promise<Page<Template | TemplateSummary>> {
    const where = new Where().eq('t.name', f.name).eq('t.format', f.format);
    return listPage(this.db, { columns: 't.*', from: 'templates t', where }, f, (r) =>
      templateFor(actor, toTemplate(r)),
    );
  }

  async remove(actor: Actor, id: string): Promise<void> {
    requireAdmin(actor, 'Removing a template');
    await this.get(actor, id);
    // What stands on the template is a volume cloned from it (a ROOT volume may outlive its VM's
    // destroy until the expunge), not a VM record.
    const used = await this.db.query(
      `SELECT vol.id FROM volumes vol JOIN vms v ON v.id = vol.vm_id
        WHERE v.template_id = $1 AND vol.type = 'ROOT' AND vol.state <> 'Destroyed' ORDER BY vol.id LIMIT 51`,
      [id],
    );
    if (used.length) throw inUse('TEMPLATE_IN_USE', { template: id }, used);
    await this.db.query('DELETE FROM templates WHERE id = $1', [id]);
  }
}
