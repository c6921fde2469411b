import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { escapeXml } from '@strata/core';
import { ensureLibvirt, LIBVIRT_URI } from '../libvirt/ensure-libvirt.js';
import { buildTestGuest, type TestGuestImages } from './build-guest.js';
import { waitForGuestAgent } from './guest-exec.js';

const run = promisify(execFile);

export interface TestGuestDisk {
  readonly path: string;
  readonly format?: 'raw' | 'qcow2';
  readonly serial: string;
}

export interface BootTestGuestOptions {
  /** Name prefix; a random suffix keeps parallel runs apart. */
  readonly name?: string;
  readonly dataDisks?: readonly TestGuestDisk[];
  readonly memoryMiB?: number;
  /** Wait for the guest agent to answer before returning (default true). */
  readonly waitForAgent?: boolean;
}

export interface TestGuest {
  readonly name: string;
  readonly dir: string;
  readonly rootImage: string;
  readonly consoleLog: string;
  readonly images: TestGuestImages;
  /** The guest's console output so far (the writer logs disks added and removed there). */
  console(): Promise<string>;
  /** Destroys and undefines the domain and removes its files. */
  dispose(): Promise<void>;
}

/** Creates a fresh directory for a guest's files, readable by QEMU. */
export async function makeGuestDir(name: string): Promise<string> {
  const dir = join(
    '/var/lib/strata-test/guests',
    `${name.replace(/[^A-Za-z0-9_-]/g, '_')}-${randomBytes(3).toString('hex')}`,
  );
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  return dir;
}

/** A unique test name with a random suffix. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * Boots the tiny test guest (TCG, 128 MiB, direct kernel boot, a qcow2 overlay over the cached
 * root image) with the given data disks, for tests of other areas that need a running guest.
 * The agent's own tests boot through the agent instead.
 */
export async function bootTestGuest(options: BootTestGuestOptions = {}): Promise<TestGuest> {
  await ensureLibvirt();
  const images = await buildTestGuest();
  const name = uniqueName(options.name ?? 'strata-guest');
  const dir = await makeGuestDir(name);
  const rootImage = join(dir, 'root.qcow2');
  const consoleLog = join(dir, 'console.log');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', images.baseImage, rootImage]);
  const disk = (d: TestGuestDisk, dev: string): string =>
    `<disk type='file' device='disk'><driver name='qemu' type='${d.format ?? 'raw'}' cache='none'/>` +
    `<source file='${escapeXml(d.path)}'/><target dev='${dev}' bus='virtio'/><serial>${escapeXml(d.serial)}</serial></disk>`;
  const data = (options.dataDisks ?? []).map((d, i) => disk(d, `vd${String.fromCharCode(98 + i)}`)).join('');
  const xml = `<domain type='qemu'><name>${escapeXml(name)}</name><memory unit='MiB'>${options.memoryMiB ?? 128}</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><kernel>${escapeXml(images.kernel)}</kernel><initrd>${escapeXml(images.initrd)}</initrd><cmdline>${escapeXml(images.cmdline)}</cmdline></os>
<features><acpi/><tcg><tb-cache unit='MiB'>32</tb-cache></tcg></features>
<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
<devices>${disk({ path: rootImage, format: 'qcow2', serial: 'root' }, 'vda')}${data}
<serial type='file'><source path='${escapeXml(consoleLog)}'/><target port='0'/></serial>
<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
<memballoon model='none'/></devices></domain>`;
  const xmlPath = join(dir, 'domain.xml');
  await writeFile(xmlPath, xml);
  await run('virsh', ['-c', LIBVIRT_URI, 'create', xmlPath], { timeout: 60_000 });
  const guest: TestGuest = {
    name,
    dir,
    rootImage,
    consoleLog,
    images,
    console: () => readFile(consoleLog, 'utf8').catch(() => ''),
    dispose: async () => {
      await run('virsh', ['-c', LIBVIRT_URI, 'destroy', name]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  if (options.waitForAgent ?? true) {
    try {
      await waitForGuestAgent(name, 90_000);
    } catch (err) {
      const text = await guest.console();
      await guest.dispose();
      throw new Error(`test guest did not come up; console:\n${text.slice(-2000)}`, { cause: err });
    }
  }
  return guest;
}
