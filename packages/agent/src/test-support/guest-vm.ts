import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildTestGuest, ensureLibvirt, makeGuestDir, uniqueName, waitForGuestAgent } from '@strata/testing';
import { HostAgent } from '../host-agent.js';
import type { AgentDiskSpec } from '../types.js';

const run = promisify(execFile);

export interface GuestVm {
  readonly agent: HostAgent;
  readonly name: string;
  readonly dir: string;
  readonly rootOverlay: string;
  readonly consoleLog: string;
  console(): Promise<string>;
  /** Makes an empty data image in the VM's directory. */
  makeImage(file: string, format: 'raw' | 'qcow2', size?: string): Promise<string>;
  dispose(): Promise<void>;
}

/**
 * For the agent's integration tests: a real libvirtd, and the test guest defined from its
 * template through the agent (overlay over the cached base image), started and with its guest
 * agent answering. Unique names keep parallel runs apart; dispose() removes everything.
 */
export async function startGuestVm(
  options: { name?: string; dataDisks?: readonly AgentDiskSpec[]; agent?: HostAgent; start?: boolean } = {},
): Promise<GuestVm> {
  await ensureLibvirt();
  const images = await buildTestGuest();
  const name = options.name ?? uniqueName('agent-test');
  const dir = await makeGuestDir(name);
  const agent = options.agent ?? new HostAgent({ initiatorFile: join(dir, 'initiatorname.iscsi') });
  if (!options.agent) await agent.start();
  const consoleLog = join(dir, 'console.log');
  const { rootOverlay } = await agent.defineFromTemplate(
    {
      name,
      cpus: 1,
      memoryBytes: 128 * 1024 * 1024,
      kernel: { path: images.kernel, initrd: images.initrd, cmdline: images.cmdline },
      root: { volumeId: 'root', baseImage: images.baseImage, overlayPath: join(dir, 'root.qcow2') },
      dataDisks: options.dataDisks ?? [],
    },
    { consoleLogPath: consoleLog },
  );
  const vm: GuestVm = {
    agent,
    name,
    dir,
    rootOverlay,
    consoleLog,
    console: () => readFile(consoleLog, 'utf8').catch(() => ''),
    makeImage: async (file, format, size = '16M') => {
      const path = join(dir, file);
      await run('qemu-img', ['create', '-q', '-f', format, path, size]);
      return path;
    },
    dispose: async () => {
      await agent.destroyVm(name).catch(() => undefined);
      if (!options.agent) await agent.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  if (options.start ?? true) {
    try {
      await agent.startVm(name);
      await waitForGuestAgent(name, 90_000);
    } catch (err) {
      const text = await vm.console();
      await vm.dispose();
      throw new Error(`guest ${name} did not come up; console tail:\n${text.slice(-1500)}`, { cause: err });
    }
  }
  return vm;
}

/** Waits until the guest console shows a line matching `pattern`. */
export async function waitForConsole(vm: GuestVm, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await vm.console();
    if (pattern.test(text)) return text;
    if (Date.now() > deadline)
      throw new Error(`console never matched ${pattern}; tail:\n${text.slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A name full of XML and shell metacharacters. */
export const NASTY = `a'b"c<d>&e $(x);|`;
