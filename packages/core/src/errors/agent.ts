import { defineErrors } from './spec.js';

/** Errors of the agent area. */
export const agentErrors = defineErrors('agent', {
  // The agent channel (docs/agent-channel.md): registration, authentication, commands.
  AGENT_AUTH_FAILED: {
    status: 401,
    retryable: false,
    message: 'Agent authentication failed for host {hostId}: {reason}',
    recovery:
      'Check the agent credentials file; if the host was removed or its secret revoked, register it again with a new registration token.',
  },
  AGENT_REGISTRATION_REFUSED: {
    status: 401,
    retryable: false,
    message: 'Host registration refused: {reason}',
    recovery: 'Registration tokens are one-time and expire: ask an administrator for a new one.',
  },
  AGENT_HOST_NAME_TAKEN: {
    status: 409,
    retryable: false,
    message: 'Host name {host} belongs to a registered host; this registration token was not issued for it',
    recovery:
      'To re-register a reinstalled machine under its old name, an operator issues a token for that host (POST /v1/hosts/{id}/registration-tokens); otherwise give the new machine another host name.',
  },
  AGENT_FINGERPRINT_MISMATCH: {
    status: 502,
    retryable: false,
    message: 'Server certificate fingerprint {actual} does not match the pinned fingerprint {expected}',
    recovery:
      'Do not connect: either the server certificate was replaced (pin the fingerprint the administrator gives) or something intercepts the connection.',
  },
  AGENT_PROTOCOL_MISMATCH: {
    status: 400,
    retryable: false,
    message: 'Agent channel protocol {version} is not supported (this side speaks {supported})',
    recovery: 'Upgrade the agent or the server so both speak the same protocol version.',
  },
  AGENT_UNKNOWN_COMMAND: {
    status: 501,
    retryable: false,
    message: 'The agent does not handle command {command}',
    recovery: 'Upgrade the agent, or use a command it reports in its capabilities.',
  },
  // Files the agent serves (docs/agent-channel.md, file commands): its host state directory and
  // the pool directories it mounts or holds.
  FILE_PATH_REFUSED: {
    status: 400,
    retryable: false,
    message: 'The agent refuses the path {path}: {reason}',
    recovery:
      'Name an absolute, normalized path (no "..", no trailing "/") of a regular file under a directory the agent serves: its host state directory (STRATA_HOST_STATE_DIR), a pool directory listed in STRATA_AGENT_POOL_DIRS, or its snapshot store (STRATA_AGENT_SNAPSHOT_STORE).',
  },
  FILE_CONFLICT: {
    status: 409,
    retryable: false,
    message: 'The file {path} already exists and is not what was asked: {reason}',
    recovery:
      'Another layer holds the name: inspect it with qemu-img info -U and remove it if nothing uses it.',
  },
  FILE_OPERATION_FAILED: {
    status: 502,
    retryable: false,
    message: '{operation} of {path} failed on the host: {reason}',
    recovery: 'Read the reason (qemu-img or the filesystem); fix the file or the host and retry.',
  },
  // The host agent's KVM core (docs/agent.md): libvirt, QEMU and the guest agent.
  LIBVIRT_UNAVAILABLE: {
    status: 503,
    retryable: true,
    message: 'libvirt is unavailable: {reason}',
    recovery: 'Start libvirtd and virtlogd on the host (no systemd: `virtlogd -d; libvirtd -d`), then retry.',
  },
  LIBVIRT_FAILED: {
    status: 502,
    retryable: false,
    message: 'virsh {command} failed: {reason}',
    recovery: 'Read the libvirt reason; fix the request or the host and retry.',
  },
  LIBVIRT_TIMEOUT: {
    status: 504,
    retryable: true,
    message: 'virsh {command} did not finish within {ms} ms',
    recovery:
      'The host is overloaded or QEMU hangs: retry with back-off; check the domain log if it persists.',
  },
  VM_NOT_FOUND: {
    status: 404,
    retryable: false,
    message: 'No domain named {vm} on this host',
    recovery: 'Check the name; the VM may live on another host or have been destroyed.',
  },
  VM_EXISTS: {
    status: 409,
    retryable: false,
    message: 'A domain named {vm} is already defined on this host',
    recovery: 'Use the existing domain or destroy it first.',
  },
  VM_NOT_RUNNING: {
    status: 409,
    retryable: false,
    message: 'Domain {vm} is not running ({reason})',
    recovery: 'Start the VM first; live operations need a running guest.',
  },
  GUEST_AGENT_UNAVAILABLE: {
    status: 503,
    retryable: true,
    message: 'The guest agent of {vm} does not answer: {reason}',
    recovery:
      'Wait for the guest to boot and qemu-guest-agent to start, then retry; or snapshot without guest quiesce.',
  },
  GUEST_FREEZE_FAILED: {
    status: 502,
    retryable: true,
    message: 'Could not freeze the filesystems of {vm}: {reason}',
    recovery:
      'The guest was thawed again; retry, or fall back to a crash-consistent (pause or hypervisor) snapshot.',
  },
  GUEST_THAW_FAILED: {
    status: 502,
    retryable: true,
    message: 'Could not thaw the filesystems of {vm}: {reason}',
    recovery: 'Retry the thaw at once; the agent keeps retrying until its deadline watchdog succeeds.',
  },
  DISK_TARGET_IN_USE: {
    status: 409,
    retryable: false,
    message: 'Domain {vm} already has a disk at {target}',
    recovery: 'Choose a free target (vdb, vdc...) or detach the disk there first.',
  },
  DISK_NOT_ATTACHED: {
    status: 404,
    retryable: false,
    message: 'Domain {vm} has no disk at {target}',
    recovery: 'Read the VM state and use a target it has.',
  },
  DISK_ADAPTOR_UNAVAILABLE: {
    status: 501,
    retryable: false,
    message: 'Storage adaptor {adaptor} is not available on this host: {reason}',
    recovery:
      'Use an adaptor the host reports in its facts (e.g. iscsi through QEMU instead of the host initiator).',
  },
  BLOCK_JOB_FAILED: {
    status: 502,
    retryable: false,
    message: 'Block job {job} on {vm} disk {target} ended {status}',
    recovery: 'The disk stays on its current image; check the chain and retry the job.',
  },
  IOTUNE_MISMATCH: {
    status: 502,
    retryable: false,
    message: 'iotune of {vm} disk {target} reads back {actual}, not the {expected} that was set',
    recovery:
      'The hypervisor refused or changed the limits: check QEMU throttle bounds; the limits in force are the ones read back.',
  },
});
