import type { Queryable } from '../db/index.js';
import type { Actor } from './actor.js';
import { Where, iso, text, listPage, type ListQuery, type Page } from './sql.js';

export interface StrataEvent {
  readonly id: string;
  readonly accountId: string | null;
  readonly type: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly jobId: string | null;
  readonly description: string;
  readonly createdAt: string;
}

export interface EventInput {
  readonly accountId: string | null;
  /** e.g. volume.Created, vm-snapshot.Ready. */
  readonly type: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly jobId?: string | null;
  readonly description?: string;
}

export interface EventFilter extends ListQuery {
  readonly type?: string;
  readonly resourceType?: string;
  readonly resourceId?: string;
  readonly jobId?: string;
  readonly accountId?: string;
}

function toEvent(r: Record<string, unknown>): StrataEvent {
  return {
    id: String(r['id']),
    accountId: (r['account_id'] as string | null) ?? null,
    type: String(r['type']),
    resourceType: String(r['resource_type']),
    resourceId: String(r['resource_id']),
    jobId: (r['job_id'] as string | null) ?? null,
    description: text(r['description']),
    createdAt: iso(r['created_at']),
  };
}

/** The audit trail: every state change writes one, in the same transaction as the change. */
export class EventService {
  constructor(private readonly db: Queryable) {}

  async record(input: EventInput, q: Queryable = this.db): Promise<void> {
    await q.query(
      `INSERT INTO events (account_id, type, resource_type, resource_id, job_id, description) VALUES ($1,$2,$3,$4,$5,$6)`,
      [
        input.accountId,
        input.type,
        input.resourceType,
        input.resourceId,
        input.jobId ?? null,
        input.description ?? '',
      ],
    );
  }

  async list(actor: Actor, f: EventFilter = {}): Promise<Page<StrataEvent>> {
    const where = new Where()
      .scope(actor, 't.account_id', f.accountId)
      .eq('t.type', f.type)
      .eq('t.resource_type', f.resourceType)
      .eq('t.resource_id', f.resourceId)
      .eq('t.job_id', f.jobId);
    return listPage(this.db, { columns: 't.*', from: 'events t', where, idType: 'bigint' }, f, toEvent);
  }
}
