import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Virsh } from '../virsh/virsh.js';

const run = promisify(execFile);

/**
 * A guest disk whose storage can go away and come back, where the loss reaches QEMU as EIO (an
 * iSCSI client of QEMU's waits for its target instead): an NBD export served by qemu-nbd over
 * TCP, attached with a short reconnect delay. qemu-nbd killed, QEMU fails the requests after the
 * delay; started again, QEMU reconnects by itself.
 */
export interface FailingDisk {
  /** The file served: read it to see what the guest wrote. */
  readonly backingFile: string;
  /** Hot-attaches it to the running domain at `target` with serial `serial`. */
  attach(virsh: Virsh, vm: string, target: string, serial: string): Promise<void>;
  fail(): Promise<void>;
  heal(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function makeFailingDisk(dir: string): Promise<FailingDisk> {
  const tag = randomBytes(4).toString('hex');
  const backingFile = join(dir, `nbd-${tag}.raw`);
  await run('truncate', ['-s', '16M', backingFile]);
  const port = 20_000 + (randomBytes(2).readUInt16BE() % 4000);
  let child: ChildProcess | null = null;
  const serve = async () => {
    const c = spawn(
      'qemu-nbd',
      ['--persistent', '--shared=8', '-f', 'raw', '-b', '127.0.0.1', '-p', String(port), backingFile],
      { stdio: 'ignore' },
    );
    child = c;
    for (let i = 0; i < 100; i++) {
      const up = await run('qemu-img', ['info', `nbd://127.0.0.1:${port}`], { timeout: 10_000 }).then(
        () => true,
        () => false,
      );
      if (up) return;
      if (c.exitCode !== null) throw new Error(`qemu-nbd exited with ${c.exitCode} (port ${port} taken?)`);
      await sleep(100);
    }
    throw new Error('qemu-nbd did not answer');
  };
  const kill = async () => {
    const c: ChildProcess | null = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };
  await serve();
  return {
    backingFile,
    async attach(virsh, vm, target, serial) {
      const xml = join(dir, `nbd-${tag}.xml`);
      await writeFile(
        xml,
        `<disk type='network' device='disk'><driver name='qemu' type='raw' cache='none' error_policy='stop' rerror_policy='stop'/>` +
          `<source protocol='nbd'><host name='127.0.0.1' port='${port}'/><reconnect delay='2'/></source>` +
          `<target dev='${target}' bus='virtio'/><serial>${serial}</serial></disk>`,
      );
      await virsh.run(['attach-device', '--domain', vm, '--file', xml, '--live'], { vm });
    },
    fail: kill,
    heal: serve,
    cleanup: async () => {
      await kill();
      await rm(backingFile, { force: true });
    },
  };
}
