import type { DomainReport, DomainRunState } from '@strata/core';
import type { Virsh } from '../virsh/virsh.js';

const STATES: readonly DomainRunState[] = [
  'running',
  'paused',
  'shut off',
  'shutdown',
  'crashed',
  'pmsuspended',
  'blocked',
  'idle',
];

export function parseDomState(text: string): DomainRunState {
  const s = text.trim().split('\n')[0]?.trim() ?? '';
  return STATES.find((x) => x === s) ?? (s === 'in shutdown' ? 'shutdown' : 'unknown');
}

export interface BlockListEntry {
  readonly type: string;
  readonly device: string;
  readonly target: string;
  readonly source: string;
}

/** Parses `domblklist --details` (Type Device Target Source; the source may hold spaces). */
export function parseBlockList(text: string): BlockListEntry[] {
  const out: BlockListEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+)\s+(\S+)\s+(\S+)\s+(.*?)\s*$/.exec(line);
    if (!m || m[1] === 'Type' || /^-+$/.test(m[1] ?? '')) continue;
    out.push({ type: m[1] ?? '', device: m[2] ?? '', target: m[3] ?? '', source: m[4] ?? '' });
  }
  return out;
}

export async function domState(virsh: Virsh, vm: string): Promise<DomainRunState> {
  return parseDomState(await virsh.run(['domstate', '--domain', vm], { vm }));
}

export async function blockList(virsh: Virsh, vm: string): Promise<BlockListEntry[]> {
  return parseBlockList(await virsh.run(['domblklist', '--domain', vm, '--details'], { vm }));
}

/** Reads serials from the live (or inactive) domain XML, by target. */
export function serialsFromXml(xml: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const disk of xml.split('<disk ').slice(1)) {
    const target = /<target dev='([^']+)'/.exec(disk)?.[1];
    const serial = /<serial>([^<]*)<\/serial>/.exec(disk)?.[1];
    if (target !== undefined && serial !== undefined) out.set(target, unescapeXml(serial));
  }
  return out;
}

export function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&amp;/g, '&');
}

/** The domain's UUID from its XML (one call fewer than `domuuid` per domain). */
export function uuidFromXml(xml: string): string {
  return /<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1]?.trim() ?? '';
}

export async function domainReport(virsh: Virsh, vm: string): Promise<DomainReport> {
  const [state, disks, xml] = await Promise.all([
    domState(virsh, vm),
    blockList(virsh, vm),
    virsh.run(['dumpxml', '--domain', vm], { vm }),
  ]);
  const serials = serialsFromXml(xml);
  return {
    name: vm,
    uuid: uuidFromXml(xml),
    state,
    disks: disks
      .filter((d) => d.device === 'disk')
      .map((d) => ({ target: d.target, serial: serials.get(d.target) ?? null, source: d.source })),
  };
}

/**
 * Reports on many domains a few at a time: a host with a hundred domains must not start three
 * hundred virsh processes at once (each is a libvirt connection), which starved the host and made
 * the agent's first report late. Domains that vanish meanwhile are left out.
 */
export async function domainReports(
  virsh: Virsh,
  names: readonly string[],
  parallel = 4,
): Promise<DomainReport[]> {
  const out: Array<DomainReport | undefined> = new Array<DomainReport | undefined>(names.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const i = next++;
      out[i] = await domainReport(virsh, names[i]!).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, names.length) }, worker));
  return out.filter((r): r is DomainReport => r !== undefined);
}
