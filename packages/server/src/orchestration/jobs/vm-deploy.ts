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
 * A clone step whose undo is skipped once the ROOT volume is Ready: a deploy whose start then
 * fails keeps its disk, and the VM stays Stopped to be started again. (Undone, the clone was
 * deleted from its backend while the database still recorded the volume Ready, and the undo of
 * `mark-creating` then failed on Ready: JOB_COMPENSATION_FAILED.)
 */
function keptOnceReady(step: JobStep<DeployInput>): JobStep<DeployInput> {
  if (!step.compensate) return step;
  const ready = (prior: Readonly<Record<string, unknown>>) => 'mark-ready' in prior;
  if (step.transactional === true) {
    const tx: TxStep<DeployInput> = step;
    const kept: TxStep<DeployInput> = {
      ...tx,
      compensate: (ctx, input, out, prior) =>
        ready(prior) ? Promise.resolve() : tx.compensate!(ctx, input, out, prior),
    };
    return kept;
  }
  const ext: ExternalStep<DeployInput> = step;
  const kept: ExternalStep<DeployInput> = {
    ...ext,
    compensate: (ctx, input, out, prior) =>
      ready(prior) ? Promise.resolve() : ext.compensate!(ctx, input, out, prior),
  };
  return kept;
}

/**
 * Deploy a VM from a template as ONE durable job: its ROOT volume is cloned from the template by
 * the pool's driver, then (when asked) the VM starts. One job, so the start never races the clone.
 */
export function vmDeployJob(deps: OrchestrationDeps): JobDefinition<DeployInput> {
  const volume = (volumeCreateJob(deps).steps as ReadonlyArray<JobStep<DeployInput>>).map(keptOnceReady);
  const start = (vmStartJob(deps).steps as ReadonlyArray<JobStep<DeployInput>>).map((s) =>
    onlyIf(s, (i) => i.start),
  );
  return { type: VM_DEPLOY_JOB, steps: [...volume, ...start] };
}
