import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { LIBVIRT_URI } from '../libvirt/ensure-libvirt.js';
import { WRITER_INTERVAL_FILE } from './init-script.js';

const run = promisify(execFile);

/**
 * Guest-agent helpers for TESTS only: `qemu-agent-command` marks a domain "tainted", so product
 * code never uses it (DESIGN.md section 6).
 */
export async function agentCommand(
  domain: string,
  command: object,
  timeoutSeconds = 10,
  uri = LIBVIRT_URI,
): Promise<unknown> {
  const { stdout } = await run(
    'virsh',
    [
      '-c',
      uri,
      'qemu-agent-command',
      '--timeout',
      String(timeoutSeconds),
      '--',
      domain,
      JSON.stringify(command),
    ],
    { timeout: (timeoutSeconds + 5) * 1000 },
  );
  return (JSON.parse(stdout) as { return?: unknown }).return;
}

/** Waits until the guest agent answers a ping. */
export async function waitForGuestAgent(domain: string, timeoutMs = 60_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      await agentCommand(domain, { execute: 'guest-ping' }, 2);
      return Date.now() - start;
    } catch (err) {
      if (Date.now() - start > timeoutMs)
        throw new Error(`guest agent of ${domain} did not answer in ${timeoutMs} ms`, { cause: err });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export interface GuestExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command in the guest through the agent (busybox sh), waiting for it to end. `uri`: the
 * libvirtd that runs the domain (a test KVM host's), default this machine's.
 */
export async function guestExec(
  domain: string,
  script: string,
  timeoutMs = 30_000,
  uri = LIBVIRT_URI,
): Promise<GuestExecResult> {
  const started = (await agentCommand(
    domain,
    {
      execute: 'guest-exec',
      arguments: { path: '/bin/sh', arg: ['-c', script], 'capture-output': true },
    },
    10,
    uri,
  )) as { pid: number };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await agentCommand(
      domain,
      { execute: 'guest-exec-status', arguments: { pid: started.pid } },
      10,
      uri,
    )) as {
      exited: boolean;
      exitcode?: number;
      'out-data'?: string;
      'err-data'?: string;
    };
    if (status.exited) {
      return {
        exitCode: status.exitcode ?? -1,
        stdout: Buffer.from(status['out-data'] ?? '', 'base64').toString('utf8'),
        stderr: Buffer.from(status['err-data'] ?? '', 'base64').toString('utf8'),
      };
    }
    if (Date.now() > deadline) throw new Error(`guest command did not finish in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The serials of the virtio disks the guest sees now, by device name. */
export async function guestDisks(domain: string): Promise<Map<string, string>> {
  const out = await guestExec(
    domain,
    'cd /sys/block && for d in vd*; do [ -e "$d" ] || continue; s=""; [ -e "$d/serial" ] && read s < "$d/serial"; echo "$d $s"; done',
  );
  const disks = new Map<string, string>();
  for (const line of out.stdout.split('\n')) {
    const [dev, ...rest] = line.split(' ');
    if (dev) disks.set(dev, rest.join(' '));
  }
  return disks;
}

/**
 * Paces the test guest's writer: one round every `seconds` from now on, and after a reboot or a
 * revert too (the file is also kept on each filesystem disk, synced). A test that reads no stalls
 * slows it so its guest does not keep a CPU busy beside the other tests.
 */
export async function setWriterInterval(domain: string, seconds: number, uri = LIBVIRT_URI): Promise<void> {
  if (!(seconds > 0 && seconds <= 60)) throw new Error(`writer interval out of range: ${seconds}`);
  const file = WRITER_INTERVAL_FILE;
  const r = await guestExec(
    domain,
    `echo ${seconds} > /run/${file} && for d in /mnt/*; do [ -d "$d" ] && echo ${seconds} > "$d/${file}"; done; sync`,
    30_000,
    uri,
  );
  if (r.exitCode !== 0) throw new Error(`could not pace the writer of ${domain}: ${r.stderr}`);
}
