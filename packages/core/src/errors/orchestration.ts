import { defineErrors } from './spec.js';

/** Errors of multi-step operations that span the server, the drivers and the agents. */
export const orchestrationErrors = defineErrors('orchestration', {
  TEMPLATE_IN_USE: {
    status: 409,
    retryable: false,
    message: 'Template {template} is in use: {count} volume(s) were cloned from it ({volumes})',
    recovery:
      'Delete (or expunge the VMs of) the volumes the details name, then remove the template. A clone may stand on the template file, so it stays while any does.',
  },
  POOL_IN_USE: {
    status: 409,
    retryable: false,
    message: 'Storage pool {pool} still holds {count} volume(s) ({volumes})',
    recovery:
      'Delete the volumes the details name (expunge the VMs whose ROOT volumes they are), then remove the pool.',
  },
  VOLUME_HAS_DEPENDENT_SNAPSHOTS: {
    status: 409,
    retryable: false,
    message: 'Volume {volume} still has snapshots that live with it: {snapshots}',
    recovery:
      'Delete the volume snapshots and VM snapshots the details name (or make volumes from them first), then delete the volume.',
  },
  VM_EXPUNGE_INCOMPLETE: {
    status: 503,
    retryable: true,
    message: 'VM {vm} is not yet expunged: {reason}',
    recovery:
      'Nothing to do: the VM stays Expunging and its expunge is asked again (the retention sweep re-queues it) until every part is gone. Bring the backend or host it names back.',
  },
  VOLUME_DELETE_FAILED: {
    status: 503,
    retryable: true,
    message: 'Volume {volume} was not deleted from its pool: {reason}',
    recovery:
      'The volume is left in Error, from which it can be deleted again: bring back the backend or storage agent the reason names, then delete it again.',
  },
  QOS_NOT_APPLIED: {
    status: 502,
    retryable: true,
    message:
      'QoS of volume {volume} was not applied: wanted {wanted}, the hypervisor or the backend reads back {got}',
    recovery: 'Retry the QoS change; if it persists, check the host agent and libvirt logs.',
  },
  TEMPLATE_NOT_BOOTABLE: {
    status: 422,
    retryable: false,
    message: 'VM {vm} cannot start: {reason}',
    recovery:
      'Give the VM a template with a root image (and a kernel for direct boot), or attach a ROOT volume.',
  },
  SNAPSHOT_GROUP_SPANS_VMS: {
    status: 400,
    retryable: false,
    message: 'One consistent snapshot covers the volumes of one VM at most; these are attached to {vms}',
    recovery: "Snapshot each VM's volumes in a request of its own (or take a VM snapshot of each VM).",
  },
  NO_HOST_AVAILABLE: {
    status: 409,
    retryable: true,
    message: 'No host can run VM {vm}: {reasons}',
    recovery:
      'Free CPU or memory on a host (stop or move a VM), bring a host Up, add a host with the adaptors the disks need, or raise STRATA_CPU_OVERCOMMIT.',
  },
  HOST_MAINTENANCE_FAILED: {
    status: 409,
    retryable: true,
    message: 'Host {host} could not enter maintenance: {reason}',
    recovery:
      'The host is Up again. See why each VM could not move (the migration jobs name it), free room on another host, and ask again.',
  },
  HOST_FENCE_REFUSED: {
    status: 409,
    retryable: false,
    message: 'Host {host} cannot be fenced: {reason}',
    recovery:
      'Only a host whose agent is gone (Disconnected) is fenced; a host that came back is Up and needs none. Check the host list.',
  },
  HOST_FENCE_FAILED: {
    status: 502,
    retryable: true,
    message: 'Host {host} could not be fenced from pool {pool}: {reason}',
    recovery:
      "The host stays Fencing and no VM of it starts elsewhere. Bring the pool's storage node or Ceph back, then fence again (POST /v1/hosts/{id}/fence) or start the VM again.",
  },
  NO_FREE_DEVICE: {
    status: 409,
    retryable: false,
    message: 'VM {vm} has no free disk slot (vda to vdz are taken)',
    recovery: 'Detach a volume first.',
  },
});
