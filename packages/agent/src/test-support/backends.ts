import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  cleanEnv,
  createCephClient,
  deleteCephClient,
  ensureCeph,
  ensureTgtd,
  type CephCluster,
} from '@strata/testing';
import type { HostAgent } from '../host-agent.js';
import type { DiskSource } from '../types.js';

const run = promisify(execFile);

export interface TestLun {
  readonly source: Extract<DiskSource, { kind: 'iscsi' }>;
  /** The file tgtd serves: read it to see what the guest wrote. */
  readonly backingFile: string;
  cleanup(): Promise<void>;
}

async function tgtadm(args: string[]): Promise<void> {
  await run('tgtadm', ['--lld', 'iscsi', ...args], { timeout: 30_000 });
}

/**
 * A tgt target with one LUN over a raw file, bound to ONE initiator name (no ALL binding), with
 * CHAP when asked; the CHAP password goes into a libvirt secret of usage type iscsi.
 */
export async function makeIscsiLun(
  agent: HostAgent,
  dir: string,
  options: { chap?: boolean } = {},
): Promise<TestLun> {
  const { portal } = await ensureTgtd();
  const suffix = randomBytes(4).toString('hex');
  const iqn = `iqn.2026-01.io.strata.test:${suffix}`;
  const backingFile = join(dir, `lun-${suffix}.raw`);
  await run('qemu-img', ['create', '-q', '-f', 'raw', backingFile, '16M']);
  let tid = 0;
  for (let attempt = 0; attempt < 20 && tid === 0; attempt++) {
    const candidate = 1000 + Math.floor(Math.random() * 60_000);
    try {
      await tgtadm(['--op', 'new', '--mode', 'target', '--tid', String(candidate), '--targetname', iqn]);
      tid = candidate;
    } catch {
      // tid taken by a parallel test: try another
    }
  }
  if (tid === 0) throw new Error('no free tgt tid');
  const initiator = await agent.initiatorName();
  const user = `u${suffix}`;
  const password = `p${randomBytes(6).toString('hex')}`;
  let secretUuid: string | undefined;
  await tgtadm([
    '--op',
    'new',
    '--mode',
    'logicalunit',
    '--tid',
    String(tid),
    '--lun',
    '1',
    '--backing-store',
    backingFile,
  ]);
  await tgtadm(['--op', 'bind', '--mode', 'target', '--tid', String(tid), '--initiator-name', initiator]);
  if (options.chap === true) {
    await tgtadm(['--op', 'new', '--mode', 'account', '--user', user, '--password', password]);
    await tgtadm(['--op', 'bind', '--mode', 'account', '--tid', String(tid), '--user', user]);
    secretUuid = await agent.defineSecret('iscsi', `strata-test-${suffix}`, Buffer.from(password));
  }
  return {
    source: {
      kind: 'iscsi',
      portal,
      iqn,
      lun: 1,
      initiatorIqn: initiator,
      ...(secretUuid !== undefined ? { chap: { username: user, secretUuid } } : {}),
    },
    backingFile,
    cleanup: async () => {
      await tgtadm(['--op', 'delete', '--mode', 'target', '--tid', String(tid), '--force']).catch(
        () => undefined,
      );
      if (options.chap === true)
        await tgtadm(['--op', 'delete', '--mode', 'account', '--user', user]).catch(() => undefined);
      if (secretUuid !== undefined) await agent.undefineSecret(secretUuid).catch(() => undefined);
      await rm(backingFile, { force: true });
    },
  };
}

export interface TestRbdImage {
  readonly source: Extract<DiskSource, { kind: 'rbd' }>;
  readonly cluster: CephCluster;
  /** Exports the image to a local raw file (to read what the guest wrote). */
  exportTo(path: string): Promise<void>;
  cleanup(): Promise<void>;
}

async function rbd(cluster: CephCluster, args: string[]): Promise<void> {
  await run(
    'rbd',
    ['--conf', cluster.confPath, '--keyring', cluster.adminKeyringPath, '--name', 'client.admin', ...args],
    {
      timeout: 60_000,
      env: cleanEnv(),
    },
  );
}

/** An RBD image and a cephx user limited to its pool, whose key is a libvirt secret of usage ceph. */
export async function makeRbdImage(agent: HostAgent): Promise<TestRbdImage> {
  const cluster = await ensureCeph();
  const suffix = randomBytes(4).toString('hex');
  const image = `agent-test-${suffix}`;
  await rbd(cluster, ['create', '--size', '16', `${cluster.pool}/${image}`]);
  const client = await createCephClient(cluster, `strata-agent-${suffix}`, cluster.pool);
  const secretUuid = await agent.defineSecret(
    'ceph',
    `client.${client.id} ${suffix}`,
    Buffer.from(client.key, 'base64'),
  );
  return {
    source: {
      kind: 'rbd',
      pool: cluster.pool,
      image,
      monitors: cluster.monitors,
      auth: { username: client.id, secretUuid },
    },
    cluster,
    exportTo: async (path) => {
      await rm(path, { force: true });
      await rbd(cluster, ['export', `${cluster.pool}/${image}`, path]);
    },
    cleanup: async () => {
      await agent.undefineSecret(secretUuid).catch(() => undefined);
      await rbd(cluster, ['rm', '--no-progress', `${cluster.pool}/${image}`]).catch(() => undefined);
      await deleteCephClient(cluster, client.id).catch(() => undefined);
    },
  };
}
