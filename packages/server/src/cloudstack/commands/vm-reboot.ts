import { job, need, type Command } from '../command.js';
import { read } from '../params.js';
import { jobFailure } from './volumes.js';

/** How long a reboot waits for the guest to stop (graceful, then forced) before it starts it again. */
const STOP_WAIT_MS = 10 * 60_000;

/**
 * CloudStack's reboot, made of the services' own stop and start: the stop job runs to its end
 * (a running VM only: a stopped one is refused as the stop refuses it), then the answer is the
 * start job, which callers poll as CloudStack's reboot job.
 */
export const rebootVirtualMachine: Command = {
  name: 'rebootVirtualMachine',
  description: 'Reboots a running virtual machine: stops it (graceful, then forced), then starts it',
  isAsync: true,
  entity: 'virtualmachine',
  params: { id: { type: 'uuid', required: true, description: 'the virtual machine' } },
  async handler(ctx) {
    const id = read.required(read.str(ctx.params, 'id'));
    const vms = need(ctx, 'vms');
    const stopped = await vms.stop(ctx.caller, id, false);
    if (stopped.jobId !== null) {
      const done = await need(ctx, 'jobs').wait(ctx.caller, stopped.jobId, STOP_WAIT_MS);
      if (done.state !== 'Succeeded') throw jobFailure(done);
    }
    return job(await vms.start(ctx.caller, id));
  },
};
