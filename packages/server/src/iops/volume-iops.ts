import type { IopsPoint, Qos } from '@strata/core';
import type { Volume } from '@strata/core';
import { loadVm, type OrchestrationDeps } from '../orchestration/deps.js';
import { domainName } from '../orchestration/naming.js';

/** GET /v1/volumes/{id}/iops: a volume's recent IOPS beside the QoS it is held to. */
export interface VolumeIops {
  readonly volumeId: string;
  readonly vmId: string | null;
  readonly hostId: string | null;
  /** The guest's device name the samples are of. */
  readonly deviceName: string | null;
  /** The QoS recorded for the volume (the graph's min, max and burst lines). */
  readonly qos: Qos | null;
  readonly periodMs: number;
  readonly windowMs: number;
  /** Oldest first; `at` is the host's clock in ms since the epoch. */
  readonly points: readonly IopsPoint[];
  /** Why there are no points (not attached, VM not running, sampling just began), else null. */
  readonly reason: string | null;
}

/**
 * Asks the agent of the VM's host for the disk's sampled window; answers an empty series with a
 * reason when the volume is on no running VM. The caller has checked the volume is visible.
 */
export async function volumeIops(deps: OrchestrationDeps, v: Volume): Promise<VolumeIops> {
  const base = {
    volumeId: v.id,
    vmId: v.vmId,
    hostId: null,
    deviceName: v.deviceName,
    qos: v.qos,
    periodMs: 0,
    windowMs: 0,
    points: [],
  };
  if (!v.vmId || !v.deviceName) return { ...base, reason: 'the volume is not attached to a VM' };
  const vm = await loadVm(deps.db, v.vmId);
  if (vm.state !== 'Running' || !vm.hostId)
    return { ...base, reason: `the VM is ${vm.state}: only a running VM's disks are sampled` };
  const w = await deps.agent.send(vm.hostId, 'disk.iops', { vm: domainName(vm), target: v.deviceName });
  return {
    ...base,
    hostId: vm.hostId,
    periodMs: w.periodMs,
    windowMs: w.windowMs,
    points: w.points,
    reason: w.reason,
  };
}
