import { defineErrors } from './spec.js';

/** Errors of multi-step operations that span the server, the drivers and the agents. */
export const orchestrationErrors = defineErrors('orchestration', {
  QOS_NOT_APPLIED: {
    status: 502,
    retryable: true,
    message: 'QoS of volume {volume} was not applied: wanted {wanted}, the hypervisor reads back {got}',
    recovery: 'Retry the QoS change; if it persists, check the host agent and libvirt logs.',
  },
  TEMPLATE_NOT_BOOTABLE: {
    status: 422,
    retryable: false,
    message: 'VM {vm} cannot start: {reason}',
    recovery:
      'Give the VM a template with a root image (and a kernel for direct boot), or attach a ROOT volume.',
  },
  NO_FREE_DEVICE: {
    status: 409,
    retryable: false,
    message: 'VM {vm} has no free disk slot (vda to vdz are taken)',
    recovery: 'Detach a volume first.',
  },
});
