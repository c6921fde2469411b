import type { ExternalStep, JobDefinition, JobStep, TxStep } from '../../jobs/index.js';
import type { OrchestrationDeps } from '../deps.js';
import { vmStartJob } from './vm-power.js';
import { VM_DEPLOY_JOB } from '../../services/operations.js';
import { volumeCreateJob } from './volume-lifecycle.js';

type DeployInput = { readonly vmId: string; readonly volumeId: string; readonly start: boolean };

/** Runs a step only when `when(input)` holds; otherwise it journals null and moves on. */
function onlyIf(step: JobStep<DeployInput>, when: (input: DeployInput) => boolean): JobStep<DeployInput> {
  if (step.transactional === true) {
    const tx: TxStep<DeployInput> = step;
    const gated: TxStep<DeployInput> = {
      ...tx,
      run: (ctx, input, prior) => (when(input) ? tx.run(ctx, input, prior) : Promise.resolve(null)),
    };
    return gated;
  }
  const ext: ExternalStep<DeployInput> = step;
  const gated: ExternalStep<DeployInput> = {
    ...ext,
    run: (ctx, input, prior) => (when(input) ? ext.run(ctx, input, prior) : Promise.resolve(null)),
  };
  return gated;
}

/**
 * Deploy a VM from a template as ONE durable job: its ROOT volume is cloned from the template by
 * the pool's driver, then (when asked) the VM starts. One job, so the start never races the clone.
 */
export function vmDeployJob(deps: OrchestrationDeps): JobDefinition<DeployInput> {
  const volume = volumeCreateJob(deps).steps as ReadonlyArray<JobStep<DeployInput>>;
  const start = (vmStartJob(deps).steps as ReadonlyArray<JobStep<DeployInput>>).map((s) =>
    onlyIf(s, (i) => i.start),
  );
  return { type: VM_DEPLOY_JOB, steps: [...volume, ...start] };
}
