import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isStrataError, StrataError, type DomainRunState } from '@strata/core';
import { domainXml } from '../domain/domain-xml.js';
import type { EventStream } from '../events/event-stream.js';
import { withPrivateDir } from '../host/secrets.js';
import type { AgentDiskSpec, AgentVmSpec, DomainOptions } from '../types.js';
import type { Virsh } from '../virsh/virsh.js';
import { domState } from './domain-state.js';

const run = promisify(execFile);

export interface TemplateVmSpec extends Omit<AgentVmSpec, 'disks'> {
  /** The root disk: a new qcow2 overlay over the template's base image. */
  readonly root: {
    readonly volumeId: string;
    readonly baseImage: string;
    readonly baseFormat?: 'qcow2' | 'raw';
    readonly overlayPath: string;
    /** Virtual size of the overlay (default: the base image's). */
    readonly sizeBytes?: number;
  };
  readonly dataDisks?: readonly AgentDiskSpec[];
}

/** Defines a persistent domain from typed data (XML written to a private file, never argv). */
export async function defineVm(
  virsh: Virsh,
  spec: AgentVmSpec,
  options: DomainOptions,
): Promise<{ name: string; uuid: string }> {
  const xml = domainXml(spec, options);
  await withPrivateDir(async (dir) => {
    const path = join(dir, 'domain.xml');
    await writeFile(path, xml, { mode: 0o600 });
    // libvirt's define replaces a same-named definition: refuse, to stay idempotent on the name
    const existing = await virsh
      .run(['domuuid', '--domain', spec.name], { vm: spec.name })
      .catch(() => undefined);
    if (existing !== undefined) throw new StrataError('VM_EXISTS', { vm: spec.name });
    await virsh.run(['define', '--file', path], { vm: spec.name });
  });
  const uuid = (await virsh.run(['domuuid', '--domain', spec.name], { vm: spec.name })).trim();
  return { name: spec.name, uuid };
}

/** Defines a VM whose root disk is a fresh qcow2 overlay over a template's base image. */
export async function defineFromTemplate(
  virsh: Virsh,
  spec: TemplateVmSpec,
  options: DomainOptions,
): Promise<{ name: string; uuid: string; rootOverlay: string }> {
  const r = spec.root;
  const args = [
    'create',
    '-q',
    '-f',
    'qcow2',
    '-F',
    r.baseFormat ?? 'qcow2',
    '-b',
    r.baseImage,
    r.overlayPath,
  ];
  if (r.sizeBytes !== undefined) args.push(String(r.sizeBytes));
  await run('qemu-img', args, { timeout: 60_000 });
  const root: AgentDiskSpec = {
    volumeId: r.volumeId,
    target: 'vda',
    source: { kind: 'file', path: r.overlayPath, format: 'qcow2' },
  };
  const { root: _root, dataDisks, ...rest } = spec;
  void _root;
  const defined = await defineVm(virsh, { ...rest, disks: [root, ...(dataDisks ?? [])] }, options);
  return { ...defined, rootOverlay: r.overlayPath };
}

export async function startVm(virsh: Virsh, vm: string): Promise<DomainRunState> {
  if ((await domState(virsh, vm)) !== 'running')
    await virsh.run(['start', '--domain', vm], { vm, timeoutMs: 120_000 });
  return domState(virsh, vm);
}

/**
 * Graceful stop (guest agent, else ACPI) for `timeoutMs`, then forced. Waits on the lifecycle
 * event, not by polling.
 */
export async function stopVm(
  virsh: Virsh,
  events: EventStream,
  vm: string,
  timeoutMs: number,
): Promise<{ state: DomainRunState; forced: boolean }> {
  if ((await domState(virsh, vm)) === 'shut off') return { state: 'shut off', forced: false };
  const stopped = events.waitFor(
    (e) => e.kind === 'lifecycle' && e.vm === vm && e.event === 'Stopped',
    timeoutMs,
  );
  try {
    await virsh.run(['shutdown', '--domain', vm, '--mode', 'agent,acpi'], {
      vm,
      timeoutMs: Math.max(timeoutMs, 10_000),
    });
  } catch (err) {
    if (!isStrataError(err, 'VM_NOT_RUNNING')) throw err;
  }
  const graceful = (await stopped) !== undefined || (await domState(virsh, vm)) === 'shut off';
  if (graceful) return { state: await domState(virsh, vm), forced: false };
  await destroyRunning(virsh, vm);
  return { state: await domState(virsh, vm), forced: true };
}

async function destroyRunning(virsh: Virsh, vm: string): Promise<void> {
  try {
    await virsh.run(['destroy', '--domain', vm], { vm, timeoutMs: 60_000 });
  } catch (err) {
    if (!isStrataError(err, 'VM_NOT_RUNNING') && !/not running/i.test((err as Error).message)) throw err;
  }
}

/** Stops at once and undefines; an absent domain is fine (idempotent). */
export async function destroyVm(virsh: Virsh, vm: string): Promise<{ existed: boolean }> {
  try {
    await domState(virsh, vm);
  } catch (err) {
    if (isStrataError(err, 'VM_NOT_FOUND')) return { existed: false };
    throw err;
  }
  await destroyRunning(virsh, vm);
  try {
    await virsh.run(
      ['undefine', '--domain', vm, '--managed-save', '--snapshots-metadata', '--checkpoints-metadata'],
      { vm },
    );
  } catch (err) {
    // a transient domain is gone once destroyed
    if (!isStrataError(err, 'VM_NOT_FOUND') && !/transient/i.test((err as Error).message)) throw err;
  }
  return { existed: true };
}
