import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { initScript } from './init-script.js';

const run = promisify(execFile);

/** Bump when the guest's contents change in a way the cache key would not see. */
const GUEST_FORMAT = 4;
/** The virtio modules, in the order the Debian cloud kernel needs them (DESIGN.md section 6). */
export const VIRTIO_MODULES = [
  'virtio_ring',
  'virtio',
  'virtio_pci_modern_dev',
  'virtio_pci_legacy_dev',
  'virtio_pci',
  'virtio_blk',
  'virtio_console',
] as const;

export interface TestGuestImages {
  readonly kernel: string;
  readonly initrd: string;
  /** ext4 root image (qcow2): a template base to put overlays on. The writer logs to a file in it. */
  readonly baseImage: string;
  readonly cmdline: string;
  readonly kernelVersion: string;
}

export interface BuildGuestOptions {
  readonly cacheDir?: string;
  /** Pause between writer rounds, in seconds. */
  readonly writerIntervalSeconds?: number;
}

export const DEFAULT_GUEST_CACHE = '/var/cache/strata/guest';

async function findKernel(): Promise<{ path: string; version: string }> {
  const names = (await readdir('/boot')).filter((n) => /^vmlinuz-.*-cloud-amd64$/.test(n)).sort();
  const name = names.at(-1);
  if (name === undefined) throw new Error('no /boot/vmlinuz-*-cloud-amd64: install linux-image-cloud-amd64');
  return { path: join('/boot', name), version: name.slice('vmlinuz-'.length) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The shared libraries `ldd` lists for a binary, as absolute paths. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  const libs: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1] !== undefined) libs.push(m[1]);
  }
  return libs;
}

async function copyInto(root: string, source: string, target = source): Promise<void> {
  const dest = join(root, target);
  await mkdir(dirname(dest), { recursive: true });
  await copyFile(source, dest);
}

async function listTree(root: string, dir = root, out: string[] = []): Promise<string[]> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    out.push(relative(root, path));
    if (entry.isDirectory()) await listTree(root, path, out);
  }
  return out;
}

/** Packs a directory as a gzip'd newc cpio archive (an initramfs). */
async function packInitramfs(root: string, target: string): Promise<void> {
  const files = await listTree(root);
  const cpio = spawn('cpio', ['-o', '-H', 'newc', '--quiet', '-R', '0:0'], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  cpio.stdin.end(files.join('\n') + '\n');
  const done = new Promise<void>((resolve, reject) => {
    cpio.on('error', reject);
    cpio.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cpio exited with ${code}`))));
  });
  await pipeline(cpio.stdout, createGzip(), createWriteStream(target));
  await done;
}

async function buildInto(
  dir: string,
  kernel: { path: string; version: string },
  script: string,
): Promise<void> {
  const root = join(dir, 'initramfs');
  await mkdir(join(root, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(root, 'bin/busybox'));
  await copyInto(root, '/usr/sbin/qemu-ga');
  for (const lib of await sharedLibraries('/usr/sbin/qemu-ga')) await copyInto(root, lib);
  const modules = join('/lib/modules', kernel.version, 'kernel/drivers');
  const where: Record<string, string> = { virtio_blk: 'block', virtio_console: 'char' };
  for (const m of VIRTIO_MODULES) {
    await copyInto(root, join(modules, where[m] ?? 'virtio', `${m}.ko`), `/lib/modules/${m}.ko`);
  }
  await writeFile(join(root, 'init'), script, { mode: 0o755 });
  await packInitramfs(root, join(dir, 'initrd.img'));
  await copyFile(kernel.path, join(dir, 'vmlinuz'));

  const rootfs = join(dir, 'rootfs');
  await mkdir(rootfs, { recursive: true });
  await writeFile(join(rootfs, 'strata-root'), 'Strata test guest root filesystem\n');
  // no journal: debugfs reads the image without replaying one, and fsync'd data must be in place
  await run('mkfs.ext4', [
    '-q',
    '-F',
    '-L',
    'strata-root',
    '-O',
    '^has_journal',
    '-d',
    rootfs,
    join(dir, 'root.raw'),
    '64M',
  ]);
  await run('qemu-img', [
    'convert',
    '-f',
    'raw',
    '-O',
    'qcow2',
    join(dir, 'root.raw'),
    join(dir, 'base.qcow2'),
  ]);
  await rm(join(dir, 'root.raw'));
  await rm(root, { recursive: true });
  await rm(rootfs, { recursive: true });
  for (const f of ['vmlinuz', 'initrd.img', 'base.qcow2']) await chmod(join(dir, f), 0o644);
  await chmod(dir, 0o755);
}

/**
 * Builds the tiny test guest from Debian packages (cloud kernel, busybox-static, qemu-ga and its
 * libraries), with no network, and caches it on disk keyed by its inputs. Rebuilt when missing;
 * concurrent callers build in private directories and the first rename wins.
 */
export async function buildTestGuest(options: BuildGuestOptions = {}): Promise<TestGuestImages> {
  const cacheDir = options.cacheDir ?? DEFAULT_GUEST_CACHE;
  const kernel = await findKernel();
  const script = initScript(options.writerIntervalSeconds ?? 0.05);
  const key = createHash('sha256')
    .update(
      JSON.stringify({
        GUEST_FORMAT,
        kernel: kernel.path,
        script,
        qga: (await stat('/usr/sbin/qemu-ga')).size,
      }),
    )
    .digest('hex')
    .slice(0, 16);
  const dir = join(cacheDir, key);
  const images: TestGuestImages = {
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    baseImage: join(dir, 'base.qcow2'),
    cmdline: 'console=ttyS0 quiet panic=-1',
    kernelVersion: kernel.version,
  };
  if (await exists(join(dir, 'complete'))) return images;
  await mkdir(cacheDir, { recursive: true, mode: 0o755 });
  await chmod(cacheDir, 0o755).catch(() => undefined);
  const staging = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    await buildInto(staging, kernel, script);
    await writeFile(join(staging, 'complete'), new Date().toISOString());
    await rename(staging, dir);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    // another process may have won the rename: its build is as good as ours
    if (!(await exists(join(dir, 'complete')))) throw err;
  }
  return images;
}
