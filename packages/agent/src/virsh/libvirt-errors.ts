import { StrataError } from '@strata/core';

/** What the caller knows about a failed virsh call, to fill the error's params. */
export interface VirshCallContext {
  readonly command: string;
  readonly vm?: string;
  readonly target?: string;
}

/**
 * Maps virsh's stderr to a coded StrataError. libvirt's messages are stable enough across 9.x to
 * match on; anything unknown becomes LIBVIRT_FAILED carrying the first line of libvirt's reason.
 */
export function libvirtError(stderr: string, ctx: VirshCallContext, cause?: unknown): StrataError {
  const reason = stderr
    .split('\n')
    .map((l) => l.replace(/^error:\s*/, '').trim())
    .filter((l) => l.length > 0)
    .join(': ')
    .slice(0, 500);
  const vm = ctx.vm ?? '';
  const opts = { cause };
  if (
    /failed to connect to the hypervisor|Failed to connect socket|Cannot recv data|End of file while reading data/i.test(
      stderr,
    )
  ) {
    return new StrataError('LIBVIRT_UNAVAILABLE', { reason }, opts);
  }
  if (/Domain not found|failed to get domain/i.test(stderr))
    return new StrataError('VM_NOT_FOUND', { vm }, opts);
  if (/domain .* already exists|already exists with uuid/i.test(stderr))
    return new StrataError('VM_EXISTS', { vm }, opts);
  if (/domain is not running|Requested operation is not valid: domain is not running/i.test(stderr)) {
    return new StrataError('VM_NOT_RUNNING', { vm, reason }, opts);
  }
  if (
    /guest agent is not (responding|connected)|QEMU guest agent is not connected|Guest agent is not responding/i.test(
      stderr,
    )
  ) {
    return new StrataError('GUEST_AGENT_UNAVAILABLE', { vm, reason }, opts);
  }
  if (/target .* already exists|Target .* already exists/i.test(stderr) && ctx.target !== undefined) {
    return new StrataError('DISK_TARGET_IN_USE', { vm, target: ctx.target }, opts);
  }
  if (
    /No disk found whose source path or target is|disk .* not found|No device found for specified path/i.test(
      stderr,
    ) &&
    ctx.target !== undefined
  ) {
    return new StrataError('DISK_NOT_ATTACHED', { vm, target: ctx.target }, opts);
  }
  return new StrataError('LIBVIRT_FAILED', { command: ctx.command, reason }, opts);
}
