import { randomBytes, randomInt } from 'node:crypto';

/** A test host's name: its hostname, its directory and part of its initiator name. */
const HOST_NAME = /^[a-z][a-z0-9-]{0,30}$/;

export function checkHostName(name: string): string {
  if (!HOST_NAME.test(name)) {
    throw new Error(
      `a KVM host name is a lowercase letter then up to 30 of [a-z0-9-], not ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/** A fresh IQN for a test host (RFC 3720 form, lowercase): tgt binds a target's ACL to it. */
export function testInitiatorName(name: string): string {
  return `iqn.2026-01.io.strata.test:${checkHostName(name)}-${randomBytes(4).toString('hex')}`;
}

/** open-iscsi's initiator name file, as the agent reads it (/etc/iscsi/initiatorname.iscsi). */
export function initiatorFile(name: string, iqn: string): string {
  return `## Strata test KVM host ${name}\nInitiatorName=${iqn}\n`;
}

/**
 * The machine's libvirtd.conf with this host's own identity: `host_uuid` (two daemons with the
 * machine's SMBIOS UUID refuse a migration between them as "to the same host") and a log file in
 * its own /var/log/libvirt (a daemon started with -d and no journal logs nowhere else).
 */
const MARK = '# Strata test KVM host: its own identity and log';

export function hostLibvirtdConf(machineConf: string, hostUuid: string): string {
  const kept = machineConf
    .split('\n')
    .filter((line) => line !== MARK && !/^\s*(host_uuid|host_uuid_source|log_outputs)\s*=/.test(line));
  while (kept.length > 0 && kept.at(-1) === '') kept.pop();
  return [
    ...kept,
    '',
    MARK,
    `host_uuid = "${hostUuid}"`,
    'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"',
    '',
  ].join('\n');
}

/**
 * The machine's qemu.conf with a migration port range of this host's own. Every host's libvirtd
 * shares this machine's ports but allocates from its range alone: two hosts taking incoming
 * migrations at once from one default range picked the same port ("Address already in use").
 */
const QEMU_MARK = '# Strata test KVM host: its own incoming migration ports';

/** A block of 64 ports for one host, drawn at random from 20,000 to 59,999 (625 blocks). */
export function migrationPortMin(): number {
  return 20_000 + 64 * randomInt(625);
}

export function hostQemuConf(machineConf: string, portMin: number): string {
  const kept = machineConf
    .split('\n')
    .filter((line) => line !== QEMU_MARK && !/^\s*migration_port_(min|max)\s*=/.test(line));
  while (kept.length > 0 && kept.at(-1) === '') kept.pop();
  return [
    ...kept,
    '',
    QEMU_MARK,
    `migration_port_min = ${portMin}`,
    `migration_port_max = ${portMin + 63}`,
    '',
  ].join('\n');
}
