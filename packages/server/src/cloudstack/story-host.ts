import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CHANNEL_PATH } from '@strata/core';
import {
  buildTestGuest,
  ensureLibvirt,
  ensureReflinkPool,
  ensureTgtd,
  type TestGuestImages,
} from '@strata/testing';
import { SYSTEM_ACTOR } from '../services/index.js';
import type { Harness } from './test-harness.js';

const run = promisify(execFile);
const AGENT_MAIN = fileURLToPath(new URL('../../../agent/dist/channel/main.js', import.meta.url));

/**
 * Test support for the CloudStack story: this machine as a KVM host and storage node (libvirtd, a
 * real agent process in both roles joined with a one-time token), tgtd on an XFS reflink pool, the
 * tiny guest as a template.
 */
export interface StoryHost {
  readonly zoneId: string;
  readonly templateId: string;
  readonly guest: TestGuestImages;
  readonly qcow2Url: string;
  readonly tgtUrl: string;
  readonly agent: ChildProcess;
  stop(): Promise<void>;
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export async function prepareStoryHost(h: Harness & { dataDir: string }, suffix: string): Promise<StoryHost> {
  await ensureLibvirt();
  const tgtd = await ensureTgtd();
  const reflink = await ensureReflinkPool({ name: 'cs-story' });
  const guest = await buildTestGuest();
  // QEMU must be able to walk down to the pool files.
  await chmod(h.dataDir, 0o755);
  const qcow2Dir = join(h.dataDir, 'qcow2');
  const tgtDir = join(reflink.mountPoint, `cs-story-${suffix}`);
  await mkdir(qcow2Dir, { recursive: true, mode: 0o755 });
  await mkdir(tgtDir, { recursive: true, mode: 0o755 });
  const s = h.server.services;
  const zone = await s.zones.create(SYSTEM_ACTOR, { name: `story-zone-${suffix}` });
  const cluster = await s.clusters.create(SYSTEM_ACTOR, { zoneId: zone.id, name: `story-cluster-${suffix}` });
  const stateDir = join(h.dataDir, 'agent');
  // The files it serves: the harness's host state directory and the pools the tests make. It is
  // also their storage node: the server runs the qcow2 and tgt drivers here (ADR 0003).
  const agent = await joinAgent(h, cluster.id, {
    stateDir,
    roles: 'kvm,storage',
    poolDirs: [qcow2Dir, join(h.dataDir, 'pool'), tgtDir],
  });
  const template = await s.templates.create(SYSTEM_ACTOR, {
    name: `tiny-${suffix}`,
    path: guest.baseImage,
    format: 'qcow2',
    // A template's size is what a clone holds: the disk's virtual size.
    sizeBytes: await virtualSize(guest.baseImage),
    kernel: { path: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline },
  });
  return {
    zoneId: zone.id,
    templateId: template.id,
    guest,
    agent,
    qcow2Url: `file://${qcow2Dir}`,
    tgtUrl: `iscsi://${tgtd.portal}${tgtDir}`,
    async stop() {
      if (agent.exitCode === null && agent.signalCode === null) {
        const exited = new Promise((r) => agent.once('exit', r));
        agent.kill('SIGTERM');
        await exited;
      }
      // Its targets go with it: the next ensureTgtd deletes those whose files are gone.
      await rm(tgtDir, { recursive: true, force: true });
    },
  };
}

/**
 * A real agent process joined to the harness's server with a one-time token, in the roles given
 * (`storage` alone needs no libvirt); answers once a host is Up. SIGTERM it to stop.
 */
export async function joinAgent(
  h: Harness & { dataDir: string },
  clusterId: string,
  o: { stateDir: string; roles: string; poolDirs: readonly string[] },
): Promise<ChildProcess> {
  const hub = h.agents.hub();
  const issued = await hub.issueRegistrationToken(clusterId);
  await mkdir(o.stateDir, { recursive: true, mode: 0o700 });
  const agent = spawn(process.execPath, [AGENT_MAIN], {
    env: {
      ...process.env,
      STRATA_SERVER_URL: `wss://127.0.0.1:${hub.port}${CHANNEL_PATH}`,
      STRATA_SERVER_FINGERPRINT: issued.fingerprint,
      STRATA_REGISTRATION_TOKEN: issued.token,
      STRATA_AGENT_STATE_DIR: o.stateDir,
      STRATA_HOST_STATE_DIR: join(h.dataDir, 'host-state'),
      STRATA_AGENT_ROLES: o.roles,
      STRATA_AGENT_POOL_DIRS: o.poolDirs.join(':'),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const s = h.server.services;
  await until(
    'the host agent to connect',
    60_000,
    async () => (await s.hosts.list(SYSTEM_ACTOR, { state: 'Up' })).items[0],
  );
  return agent;
}

/** The base image's virtual size: a ROOT volume from the template is at least that big. */
export async function virtualSize(image: string): Promise<number> {
  const { stdout } = await run('qemu-img', ['info', '--output=json', '--force-share', image]);
  return (JSON.parse(stdout) as { 'virtual-size': number })['virtual-size'];
}

/** Until the guest agent answers: a quiesced snapshot needs it. */
export async function waitForGuestAgent(domain: string, timeoutMs = 120_000): Promise<void> {
  await until('the guest agent to answer', timeoutMs, async () => {
    await run('virsh', ['-c', 'qemu:///system', 'guestinfo', '--hostname', domain], { timeout: 10_000 });
    return true;
  });
}
