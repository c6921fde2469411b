import type { JobEngine } from '../jobs/index.js';
import { snapshotStrategies, type SnapshotStrategies } from '../vmsnapshots/strategy/index.js';
import { vmSnapshotCreateJob } from '../vmsnapshots/create-job.js';
import { vmSnapshotDeleteJob } from '../vmsnapshots/delete-job.js';
import { vmSnapshotRevertJob } from '../vmsnapshots/revert-job.js';
import type { OrchestrationDeps } from './deps.js';
import { vmDeployJob } from './jobs/vm-deploy.js';
import { vmMigrateJob } from './jobs/vm-migrate.js';
import { vmRevokeSourceJob } from './jobs/vm-revoke-source.js';
import { hostMaintenanceJob } from './jobs/host-maintenance.js';
import { hostFenceJob } from './jobs/host-fence.js';
import { vmStartJob, vmStopJob } from './jobs/vm-power.js';
import { vmDestroyJob } from './jobs/vm-destroy.js';
import { vmExpungeJob } from './jobs/vm-expunge.js';
import { volumeAttachJob, volumeDetachJob, volumeSetQosJob } from './jobs/volume-attachment.js';
import { volumeCreateJob, volumeDeleteJob, volumeResizeJob } from './jobs/volume-lifecycle.js';
import { volumeMigrateJob } from './jobs/volume-migrate.js';
import { volumeSnapshotGroupJob } from './jobs/volume-snapshot-group.js';
import {
  volumeSnapshotCreateJob,
  volumeSnapshotDeleteJob,
  volumeSnapshotRevertJob,
} from './jobs/volume-snapshots.js';

/** Registers every multi-step operation the API queues, on one job engine. */
export function registerOrchestration(
  engine: JobEngine,
  deps: OrchestrationDeps,
  strategies: SnapshotStrategies = snapshotStrategies(),
): void {
  engine.register(volumeCreateJob(deps));
  engine.register(volumeDeleteJob(deps));
  engine.register(volumeResizeJob(deps));
  engine.register(volumeAttachJob(deps));
  engine.register(volumeDetachJob(deps));
  engine.register(volumeSetQosJob(deps));
  engine.register(volumeMigrateJob(deps));
  engine.register(volumeSnapshotCreateJob(deps));
  engine.register(volumeSnapshotDeleteJob(deps));
  engine.register(volumeSnapshotRevertJob(deps));
  engine.register(volumeSnapshotGroupJob(deps));
  engine.register(vmStartJob(deps));
  engine.register(vmStopJob(deps));
  engine.register(vmMigrateJob(deps, engine));
  engine.register(vmRevokeSourceJob(deps));
  engine.register(vmDestroyJob(deps, engine));
  engine.register(vmExpungeJob(deps, engine));
  engine.register(hostMaintenanceJob(deps, engine));
  engine.register(hostFenceJob(deps));
  engine.register(vmDeployJob(deps));
  engine.register(vmSnapshotCreateJob(deps, strategies));
  engine.register(vmSnapshotRevertJob(deps, strategies));
  engine.register(vmSnapshotDeleteJob(deps, strategies));
}
