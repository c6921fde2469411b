import { randomBytes } from 'node:crypto';

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
