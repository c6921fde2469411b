import { escapeXml, StrataError, validateName } from '@strata/core';
import type { AgentVmSpec, DomainOptions } from '../types.js';
import { diskXml } from './disk-xml.js';

const x = escapeXml;

/** The guest agent channel every domain carries (quiesce, freeze/thaw, agent lifecycle events). */
export const GUEST_AGENT_CHANNEL = 'org.qemu.guest_agent.0';

/**
 * Domain XML from typed data. Every user string is escaped; a guest agent channel is always
 * present; every disk's serial is its volume id.
 */
export function domainXml(spec: AgentVmSpec, options: DomainOptions = {}): string {
  validateName('name', spec.name);
  if (!Number.isInteger(spec.cpus) || spec.cpus < 1)
    throw new StrataError('INVALID_ARGUMENT', { field: 'cpus', reason: 'must be ≥ 1' });
  const memKiB = Math.floor(spec.memoryBytes / 1024);
  if (memKiB < 16 * 1024)
    throw new StrataError('INVALID_ARGUMENT', { field: 'memoryBytes', reason: 'must be at least 16 MiB' });
  const targets = new Set<string>();
  for (const d of spec.disks) {
    if (targets.has(d.target))
      throw new StrataError('INVALID_ARGUMENT', { field: 'disks', reason: `target ${d.target} used twice` });
    targets.add(d.target);
  }
  const type = options.domainType ?? 'qemu';
  const k = spec.kernel;
  const boot =
    k !== undefined
      ? `<kernel>${x(k.path)}</kernel>` +
        (k.initrd !== undefined ? `<initrd>${x(k.initrd)}</initrd>` : '') +
        (k.cmdline !== undefined ? `<cmdline>${x(k.cmdline)}</cmdline>` : '')
      : `<boot dev='hd'/>`;
  const tcg = type === 'qemu' ? `<tcg><tb-cache unit='MiB'>${options.tbCacheMiB ?? 32}</tb-cache></tcg>` : '';
  const console =
    options.consoleLogPath !== undefined
      ? `<serial type='file'><source path='${x(options.consoleLogPath)}'/><target port='0'/></serial>`
      : `<serial type='pty'><target port='0'/></serial>`;
  return [
    `<domain type='${type}'>`,
    `<name>${x(spec.name)}</name>`,
    `<memory unit='KiB'>${memKiB}</memory>`,
    `<vcpu>${spec.cpus}</vcpu>`,
    `<os><type arch='x86_64' machine='${x(options.machine ?? 'pc')}'>hvm</type>${boot}</os>`,
    `<features><acpi/>${tcg}</features>`,
    type === 'kvm' ? `<cpu mode='host-passthrough'/>` : '',
    `<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>`,
    `<devices>`,
    ...spec.disks.map(diskXml),
    console,
    `<channel type='unix'><target type='virtio' name='${GUEST_AGENT_CHANNEL}'/></channel>`,
    `<memballoon model='none'/>`,
    `</devices>`,
    `</domain>`,
  ]
    .filter((l) => l.length > 0)
    .join('\n');
}
