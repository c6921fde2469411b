import type { Command } from '../command.js';
import * as accounts from './accounts.js';
import * as accountUsers from './account-users.js';
import * as clusters from './clusters.js';
import * as directory from './directory.js';
import * as infra from './infra.js';
import * as jobs from './jobs.js';
import * as offerings from './offerings.js';
import { updateStoragePool } from './pools.js';
import { listCapabilities, makeListApis } from './meta.js';
import * as resourceLimits from './resource-limits.js';
import * as snapshots from './snapshots.js';
import * as snapshotPolicies from './snapshot-policies.js';
import * as tags from './tags.js';
import * as templates from './templates.js';
import * as updates from './updates.js';
import * as vmLifecycle from './vm-lifecycle.js';
import * as vmSnapshots from './vm-snapshots.js';
import { rebootVirtualMachine } from './vm-reboot.js';
import * as vms from './vms.js';
import * as volumes from './volumes.js';

const all: Command[] = [
  infra.listZones,
  infra.listHosts,
  infra.prepareHostForMaintenance,
  infra.cancelHostMaintenance,
  infra.listStoragePools,
  infra.createStoragePool,
  updateStoragePool,
  infra.listDiskOfferings,
  infra.createDiskOffering,
  offerings.updateDiskOffering,
  offerings.listServiceOfferings,
  offerings.createServiceOffering,
  offerings.updateServiceOffering,
  infra.listTemplates,
  templates.registerTemplate,
  templates.deleteTemplate,
  vms.deployVirtualMachine,
  vms.startVirtualMachine,
  vms.migrateVirtualMachine,
  vms.findHostsForMigration,
  vms.stopVirtualMachine,
  rebootVirtualMachine,
  vmLifecycle.destroyVirtualMachine,
  vmLifecycle.recoverVirtualMachine,
  vmLifecycle.expungeVirtualMachine,
  vms.listVirtualMachines,
  updates.updateVirtualMachine,
  volumes.createVolume,
  volumes.attachVolume,
  volumes.detachVolume,
  volumes.resizeVolume,
  volumes.migrateVolume,
  volumes.deleteVolume,
  volumes.listVolumes,
  updates.updateVolume,
  snapshots.createSnapshot,
  snapshots.listSnapshots,
  snapshots.deleteSnapshot,
  snapshots.revertSnapshot,
  snapshots.createSnapshotFromVMSnapshot,
  snapshotPolicies.createSnapshotPolicy,
  snapshotPolicies.listSnapshotPolicies,
  snapshotPolicies.updateSnapshotPolicy,
  snapshotPolicies.deleteSnapshotPolicies,
  vmSnapshots.createVMSnapshot,
  vmSnapshots.listVMSnapshot,
  vmSnapshots.revertToVMSnapshot,
  vmSnapshots.deleteVMSnapshot,
  jobs.queryAsyncJobResult,
  jobs.listAsyncJobs,
  accounts.listAccounts,
  accountUsers.createAccount,
  accountUsers.updateUser,
  accountUsers.disableUser,
  accountUsers.enableUser,
  accountUsers.deleteUser,
  accountUsers.getUserKeys,
  accounts.listUsers,
  accounts.createUser,
  accounts.registerUserKeys,
  accounts.updateAccount,
  accounts.listEvents,
  directory.listDomains,
  directory.listProjects,
  directory.listNetworks,
  directory.listPods,
  clusters.listClusters,
  clusters.addCluster,
  clusters.deleteCluster,
  directory.listOsTypes,
  directory.listHypervisors,
  directory.listCapacity,
  tags.createTags,
  tags.deleteTags,
  tags.listTags,
  resourceLimits.listResourceLimits,
  resourceLimits.updateResourceLimit,
  listCapabilities,
];

function build(): ReadonlyMap<string, Command> {
  const table = new Map<string, Command>();
  for (const cmd of [...all, makeListApis(() => commandTable)]) {
    if (table.has(cmd.name)) throw new Error(`CloudStack command ${cmd.name} is defined twice`);
    table.set(cmd.name, cmd);
  }
  return table;
}

/** The one table of CloudStack commands: dispatch and listApis both read it. Names are case-sensitive, as in CloudStack. */
export const commandTable: ReadonlyMap<string, Command> = build();
