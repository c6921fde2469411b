import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openDatabase } from '@strata/server';
import { CRASH_RBD_POOL, type CrashEnv } from './crash-env.js';

const run = promisify(execFile);

/*
 * Orphans made by hand on the real backends, as a crash or a bug could leave them: each answers
 * the reference the collector should report it by.
 */

export async function strayQcow2Layer(cx: CrashEnv, volumeId: string): Promise<string> {
  const path = join(cx.backends.qcow2Dir, `${volumeId}.stray-overlay.qcow2`);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', path, '16M']);
  return path;
}

/**
 * A transient overlay and a memory state of a snapshot that never finished, in the state directory
 * of the KVM host that runs the VM (its own directory, bound at the state path in its namespace):
 * answered as that host names them.
 */
export async function strayStateFiles(cx: CrashEnv, vmId: string): Promise<string[]> {
  const names = [`${vmId}.vmsnap-gone.vdb.qcow2`, `${vmId}.vmsnap-gone.memory`] as const;
  const uri = await cx.uriOf(vmId);
  const host = cx.kvm.find((k) => k.host.uri === uri);
  const dir = host ? join(host.host.dir, 'state') : cx.stateDir;
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, names[0]), '16M']);
  await writeFile(join(dir, names[1]), 'memory state of a snapshot that never finished');
  return names.map((n) => join(cx.stateDir, n));
}

const rbd = (cx: CrashEnv, args: string[]) =>
  run(
    'rbd',
    [
      '--conf',
      cx.backends.ceph!.confPath,
      '--keyring',
      cx.backends.ceph!.adminKeyringPath,
      '--id',
      'admin',
      ...args,
    ],
    { timeout: 60_000 },
  );

/** A snapshot made with the rbd CLI, named as the driver names its own (`snap-<id>`). */
export async function rbdSnapshot(cx: CrashEnv, volumeId: string): Promise<string> {
  await rbd(cx, ['snap', 'create', `${CRASH_RBD_POOL}/vol-${volumeId}@snap-handmade`]);
  return 'handmade';
}

export async function rbdImage(cx: CrashEnv): Promise<string> {
  await rbd(cx, ['create', '--size', '16', `${CRASH_RBD_POOL}/vol-handmade-image`]);
  return 'handmade-image';
}

export async function rbdSnapshotExists(
  cx: CrashEnv,
  volumeId: string,
  snapshotId: string,
): Promise<boolean> {
  const out = (await rbd(cx, ['snap', 'ls', '--format', 'json', `${CRASH_RBD_POOL}/vol-${volumeId}`])).stdout;
  return (JSON.parse(out || '[]') as Array<{ name: string }>).some((s) => s.name === `snap-${snapshotId}`);
}

export async function rbdImages(cx: CrashEnv): Promise<string[]> {
  return JSON.parse((await rbd(cx, ['ls', '--format', 'json', CRASH_RBD_POOL])).stdout || '[]') as string[];
}

/** The rbd driver's names (packages/drivers/rbd/src/names.ts): a short sha256 of the id. */
const short = (id: string) => createHash('sha256').update(id).digest('hex').slice(0, 20);

/**
 * A group snapshot in the VM's rbd group, recorded in the pool index as the driver records the
 * part of a VM snapshot, for a VM snapshot that has no row (as if the row were deleted by hand).
 */
export async function rbdVmSnapshotPart(cx: CrashEnv, vmId: string): Promise<string> {
  const ref = `${CRASH_RBD_POOL}/vm-${short(vmId)}@vms-${short('handmade-vmsnap')}`;
  await rbd(cx, ['group', 'snap', 'create', ref]);
  await rbd(cx, ['image-meta', 'set', `${CRASH_RBD_POOL}/strata.index`, 'vmsnap.handmade-vmsnap', vmId]);
  return ref;
}

/** The group snapshots of the VM's rbd group, as `<pool>/<group>@<snap>`. */
export async function rbdVmSnapshotParts(cx: CrashEnv, vmId: string): Promise<string[]> {
  const group = `${CRASH_RBD_POOL}/vm-${short(vmId)}`;
  const out = (await rbd(cx, ['group', 'snap', 'ls', '--format', 'json', group])).stdout;
  return (JSON.parse(out || '[]') as Array<{ snapshot: string }>).map((s) => `${group}@${s.snapshot}`);
}

/** A reflink snapshot in the tgt pool, committed by its JSON as the driver does. */
export async function tgtSnapshot(cx: CrashEnv, volumeId: string): Promise<string> {
  const id = 'handmade-snap';
  await run('cp', [
    '--reflink=always',
    join(cx.tgtDir, 'volumes', `${volumeId}.raw`),
    join(cx.tgtDir, 'snapshots', `${id}.raw`),
  ]);
  const meta = JSON.parse(await readFile(join(cx.tgtDir, 'volumes', `${volumeId}.json`), 'utf8')) as {
    sizeBytes: number;
  };
  await writeFile(
    join(cx.tgtDir, 'snapshots', `${id}.json`),
    JSON.stringify({
      snapshotId: id,
      volumeId,
      sizeBytes: meta.sizeBytes,
      vmSnapshotId: null,
      createdAt: new Date().toISOString(),
    }),
  );
  return id;
}

/** A tgt volume nothing in the database knows: a reflink copy of another with its own JSON. */
export async function tgtVolume(cx: CrashEnv, fromVolumeId: string): Promise<string> {
  const id = 'handmade-volume';
  await run('cp', [
    '--reflink=always',
    join(cx.tgtDir, 'volumes', `${fromVolumeId}.raw`),
    join(cx.tgtDir, 'volumes', `${id}.raw`),
  ]);
  const meta = JSON.parse(
    await readFile(join(cx.tgtDir, 'volumes', `${fromVolumeId}.json`), 'utf8'),
  ) as object;
  await writeFile(
    join(cx.tgtDir, 'volumes', `${id}.json`),
    JSON.stringify({ ...meta, volumeId: id, grants: {}, source: { kind: 'empty' } }),
  );
  return id;
}

async function tgtadm(...args: string[]): Promise<string> {
  // a storage node's target listing grows with every LUN (about 1 KiB each)
  return (await run('tgtadm', ['--lld', 'iscsi', ...args], { maxBuffer: 256 * 1024 * 1024 })).stdout;
}

/** The ACLs tgtd holds on a target, by IQN. */
export async function tgtAcls(iqn: string): Promise<string[]> {
  const show = await tgtadm('--mode', 'target', '--op', 'show');
  const block = show.split(/^Target \d+: /m).find((b) => b.startsWith(`${iqn}\n`)) ?? '';
  const acl = block.split('ACL information:')[1] ?? '';
  return acl
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/**
 * A grant to a host on a volume that host does not run: recorded where the driver keeps its
 * grants and bound in tgtd as the driver binds it.
 */
export async function tgtGrant(
  cx: CrashEnv,
  volumeId: string,
  iqn: string,
  hostId: string,
  initiator: string,
): Promise<void> {
  const path = join(cx.tgtDir, 'volumes', `${volumeId}.json`);
  const meta = JSON.parse(await readFile(path, 'utf8')) as { grants: Record<string, string> };
  await writeFile(path, JSON.stringify({ ...meta, grants: { ...meta.grants, [hostId]: initiator } }));
  const show = await tgtadm('--mode', 'target', '--op', 'show');
  const tid = new RegExp(`^Target (\\d+): ${iqn.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm').exec(
    show,
  )?.[1];
  if (!tid) throw new Error(`no tgt target ${iqn}`);
  await tgtadm('--mode', 'target', '--op', 'bind', '--tid', tid, '--initiator-name', initiator);
}

/**
 * A VM snapshot left Creating with no job, as an older release or a lost job could leave it: the
 * server must be stopped (PGlite is one process's). Its database is the run's (processes.ts keeps a
 * PostgreSQL one's URL in the data directory).
 */
export async function stuckSnapshot(dataDir: string, vmId: string, accountId: string): Promise<string> {
  const url = await readFile(join(dataDir, 'test-database-url'), 'utf8').catch(() => join(dataDir, 'db'));
  const pg = await openDatabase(url);
  try {
    const id = 'vmsnap-stuck-creating';
    await pg.query(
      `INSERT INTO vm_snapshots (id, account_id, vm_id, name, state, type) VALUES ($1, $2, $3, 'stuck "creating" <x>', 'Creating', 'Disk')`,
      [id, accountId, vmId],
    );
    return id;
  } finally {
    await pg.close();
  }
}
