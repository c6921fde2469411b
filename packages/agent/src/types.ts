import type { DiskSource, DiskSpec, IoTune, VmSpec } from '@strata/core';

/** A host block device (e.g. a LUN the host's kernel initiator logged in to). */
export interface BlockDiskSource {
  readonly kind: 'block';
  readonly path: string;
}

/** Managed iSCSI through the HOST's initiator (iscsiadm login, /dev/disk/by-path). */
export interface HostIscsiDiskSource {
  readonly kind: 'iscsi-host';
  readonly portal: string;
  readonly iqn: string;
  readonly lun: number;
  /** CHAP for the node session; the password is written to iscsiadm through its database, never argv. */
  readonly chap?: { readonly username: string; readonly password: string };
}

/** Every disk source the agent can attach: the channel's ones plus host-side adaptors. */
export type AgentDiskSource = DiskSource | BlockDiskSource | HostIscsiDiskSource;

export interface AgentDiskSpec extends Omit<DiskSpec, 'source'> {
  readonly source: AgentDiskSource;
  /** Open read-only. */
  readonly readonly?: boolean;
}

/** Host-level domain settings that are not the VM's business. */
export interface DomainOptions {
  /** `qemu` (TCG) where /dev/kvm cannot run stock guests (DESIGN.md section 6), else `kvm`. */
  readonly domainType?: 'qemu' | 'kvm';
  readonly machine?: string;
  /** Cap of TCG's translation cache, in MiB (TCG only). */
  readonly tbCacheMiB?: number;
  /** Serial console to a file (the test guest logs disks added and removed there). */
  readonly consoleLogPath?: string;
}

export interface AgentVmSpec extends Omit<VmSpec, 'disks'> {
  readonly disks: readonly AgentDiskSpec[];
}

export type { DiskSource, DiskSpec, IoTune, VmSpec };
