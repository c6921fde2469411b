import { StrataError, vmMachine, type Vm } from '@strata/core';
import type { Queryable } from '../db/index.js';
import type { Actor } from './actor.js';
import { JOB_TYPES, vmLock } from './job-types.js';
import type { JobService } from './jobs.js';
import type { Accepted } from './operations.js';
import type { VmService } from './vms.js';

const OPEN = `('Queued','Running','Compensating')`;

/**
 * Destroy, recover and expunge, as CloudStack operators know them: destroy is a job under the
 * VM's lock (it stops a running VM first); a Destroyed VM is recoverable until its retention
 * ends (the expunge sweep), or until an expunge is asked.
 */
export class VmLifecycle {
  constructor(
    private readonly jobs: JobService,
    private readonly vms: VmService,
    private readonly db: Queryable,
  ) {}

  async destroy(actor: Actor, id: string, opts: { expunge?: boolean } = {}): Promise<Accepted<Vm>> {
    const vm = await this.vms.get(actor, id);
    if (opts.expunge && (vm.state === 'Destroyed' || vm.state === 'Expunging'))
      return this.expunge(actor, id);
    if (vm.state !== 'Running') vmMachine.next(vm.state, 'Destroy');
    const job = await this.jobs.submit(
      actor,
      JOB_TYPES.vmDestroy,
      { vmId: id, expunge: Boolean(opts.expunge) },
      { lockKey: vmLock(id), resourceType: 'vm', resourceId: id },
    );
    return { job, resource: vm };
  }

  /** Queues the expunge of a Destroyed VM (or one left Expunging); one already queued is answered. */
  async expunge(actor: Actor, id: string): Promise<Accepted<Vm>> {
    const vm = await this.vms.get(actor, id);
    vmMachine.next(vm.state, 'Expunge');
    const open = await this.openJob(id);
    if (open) return { job: await this.jobs.get(actor, open), resource: vm };
    const job = await this.jobs.submit(
      actor,
      JOB_TYPES.vmExpunge,
      { vmId: id },
      { lockKey: vmLock(id), resourceType: 'vm', resourceId: id },
    );
    return { job, resource: vm };
  }

  /** Synchronous, as in CloudStack; refused while a destroy or expunge of the VM is still to run. */
  async recover(actor: Actor, id: string): Promise<Vm> {
    const open = await this.openJob(id);
    if (open)
      throw new StrataError('CONFLICT', {
        reason: `vm ${id} has a destroy or expunge job in flight (${open})`,
      });
    return this.vms.recover(actor, id);
  }

  private async openJob(vmId: string): Promise<string | undefined> {
    const rows = await this.db.query(
      `SELECT id FROM jobs WHERE resource_type = 'vm' AND resource_id = $1 AND type IN ($2, $3)
         AND state IN ${OPEN} ORDER BY seq LIMIT 1`,
      [vmId, JOB_TYPES.vmExpunge, JOB_TYPES.vmDestroy],
    );
    return rows[0] ? String(rows[0]['id']) : undefined;
  }
}
