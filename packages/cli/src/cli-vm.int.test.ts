import { execFile } from 'node:child_process';
import { setWriterInterval } from '@strata/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '@strata/server/cloudstack/test-harness';
import {
  prepareStoryHost,
  virtualSize,
  waitForGuestAgent,
  type StoryHost,
} from '@strata/server/cloudstack/story-host';

// The CLI through a VM's life with a real host agent, libvirt guest and job progress: the
// progress bars here come from real start, attach and VM-snapshot jobs.

const exec = promisify(execFile);
const BIN = join(dirname(fileURLToPath(import.meta.url)), 'bin.js');
const suffix = Math.random().toString(36).slice(2, 6);
let h: Harness & { dataDir: string };
let host: StoryHost | null = null;
let home = '';
let vmId = '';
let filesPool = '';
const deployed: string[] = [];

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function strata(args: readonly string[]): Promise<Run> {
  const env = {
    ...process.env,
    HOME: home,
    STRATA_CONFIG: join(home, 'config.json'),
    STRATA_ENDPOINT: h.server.url,
    STRATA_API_KEY: h.admin.key,
    STRATA_SECRET_KEY: h.admin.secret,
  };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 300_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number')
        return reject(err instanceof Error ? err : new Error('process failed'));
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

async function ok(args: readonly string[]): Promise<Run> {
  const r = await strata(args);
  assert.equal(r.code, 0, `strata ${args.join(' ')}: ${r.stderr}`);
  return r;
}

const idOf = (r: Run) => /^id\s+(\S+)$/m.exec(r.stdout)?.[1] ?? '';

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'strata-cli-vm-'));
  h = await startHarness();
  host = await prepareStoryHost(h, suffix);
});

after(async () => {
  for (const id of [vmId, ...deployed].filter(Boolean)) {
    await exec('virsh', ['-c', 'qemu:///system', 'destroy', id]).catch(() => undefined);
    await exec('virsh', ['-c', 'qemu:///system', 'undefine', id]).catch(() => undefined);
  }
  await host?.stop();
  await h?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

void test(
  'a VM with disks on two backends, a quiesced VM snapshot, the tree, revert and clean-up, all with strata',
  { timeout: 600_000 },
  async () => {
    const story = host!;
    const files = (filesPool = idOf(
      await ok([
        'pools',
        'create',
        '--name',
        `files-${suffix}`,
        '--zone',
        story.zoneId,
        '--provider',
        'qcow2',
        '--url',
        story.qcow2Url,
        '--capacity',
        '16G',
      ]),
    ));
    const iscsi = idOf(
      await ok([
        'pools',
        'create',
        '--name',
        `iscsi-${suffix}`,
        '--zone',
        story.zoneId,
        '--provider',
        'tgt',
        '--managed',
        '--url',
        story.tgtUrl,
        '--capacity',
        '16G',
        '--capacity-iops',
        '20000',
      ]),
    );
    vmId = idOf(
      await ok([
        'vms',
        'create',
        '--name',
        `cli vm <${suffix}>`,
        '--template',
        story.templateId,
        '--memory',
        '128M',
      ]),
    );
    const root = await ok([
      'volumes',
      'create',
      '--name',
      `root-${suffix}`,
      '--pool',
      files,
      '--size',
      String(await virtualSize(story.guest.baseImage)),
      '--type',
      'ROOT',
      '--vm',
      vmId,
    ]);
    assert.match(root.stdout, /^type\s+ROOT$/m);

    const started = await ok(['vms', 'start', vmId]);
    assert.match(started.stderr, /vm\.start \[[^\]]*\] 100% Succeeded/);
    assert.match(started.stdout, /^state\s+Running$/m);

    for (const pool of [files, iscsi]) {
      const v = idOf(
        await ok([
          'volumes',
          'create',
          '--name',
          `data-${pool.slice(-4)}`,
          '--pool',
          pool,
          '--size',
          '64M',
          '--min-iops',
          '100',
          '--max-iops',
          '1000',
        ]),
      );
      const attached = await ok(['volumes', 'attach', v, '--vm', vmId]);
      assert.match(attached.stdout, new RegExp(`^vmId\\s+${vmId}$`, 'm'));
    }

    await waitForGuestAgent(vmId);
    // no writer history is read here: a slow writer keeps the guest from holding a CPU
    await setWriterInterval(vmId, 1);
    const snap = await ok([
      'vm-snapshots',
      'create',
      '--vm',
      vmId,
      '--name',
      `before <${suffix}>`,
      '--quiesce',
      'guest',
    ]);
    assert.match(snap.stderr, /vm-snapshot\.create \[[^\]]*\] 100% Succeeded/);
    assert.match(snap.stdout, /^state\s+Ready$/m);
    assert.match(snap.stdout, /^consistency\s+filesystem$/m);
    const snapId = idOf(snap);

    const tree = await ok(['vms', 'tree', vmId]);
    assert.match(tree.stdout, new RegExp(`^\\* before <${suffix}> \\(${snapId}\\) Ready filesystem$`, 'm'));

    // its size per disk part: a number where the storage driver took the part, else null and why
    const size = JSON.parse((await ok(['-o', 'json', 'vm-snapshots', 'size', snapId])).stdout) as {
      size: number | null;
      sizeNote: string;
      parts: Array<{ volumeId: string; size: number | null; sizeNote: string }>;
    };
    assert.equal(size.parts.length, 3, JSON.stringify(size));
    for (const p of size.parts)
      assert.ok(
        p.size === null ? /hypervisor|cannot/.test(p.sizeNote) : p.size > 0 && p.sizeNote.length > 0,
        JSON.stringify(p),
      );
    assert.equal(
      size.size === null,
      size.parts.some((p) => p.size === null),
      JSON.stringify(size),
    );

    await ok(['vms', 'stop', vmId, '--force']);
    const reverted = await ok(['vm-snapshots', 'revert', snapId]);
    assert.match(reverted.stdout, /^state\s+Ready$/m);
    await ok(['vm-snapshots', 'delete', snapId]);
    const listed = JSON.parse(
      (await ok(['-o', 'json', 'vm-snapshots', 'list', '--vm', vmId, '--state', 'Ready'])).stdout,
    ) as { items: unknown[] };
    assert.equal(listed.items.length, 0);
    // Removed snapshots leave the list unless asked for with --all
    const states = async (...extra: string[]) =>
      (
        JSON.parse((await ok(['-o', 'json', 'vm-snapshots', 'list', '--vm', vmId, ...extra])).stdout) as {
          items: Array<{ state: string }>;
        }
      ).items.map((s) => s.state);
    assert.deepEqual(await states(), []);
    assert.deepEqual(await states('--all'), ['Removed']);

    const vols = JSON.parse(
      (await ok(['-o', 'json', 'volumes', 'list', '--vm', vmId, '--type', 'DATA'])).stdout,
    ) as { items: Array<{ id: string }> };
    assert.equal(vols.items.length, 2);
    for (const v of vols.items) {
      await ok(['volumes', 'detach', v.id]);
      await ok(['volumes', 'delete', v.id]);
    }
    const destroyed = await ok(['vms', 'delete', vmId]);
    assert.match(destroyed.stdout, /^vm\.destroy Succeeded: vm\//m);
    assert.match((await ok(['vms', 'get', vmId])).stdout, /^state\s+Destroyed$/m);
  },
);

void test(
  'strata vms deploy: a VM from a template in one job, its ROOT cloned by the pool, running or left stopped',
  { timeout: 600_000 },
  async () => {
    const story = host!;
    assert.ok(filesPool, 'the first test made the qcow2 pool');
    const stopped = await ok([
      'vms',
      'deploy',
      '--name',
      `kept "stopped" ${suffix}`,
      '--template',
      story.templateId,
      '--pool',
      filesPool,
      '--no-start',
    ]);
    assert.match(stopped.stderr, /vm\.deploy \[[^\]]*\] 100% Succeeded/);
    assert.match(stopped.stdout, /^state\s+Stopped$/m);
    deployed.push(idOf(stopped));

    const run = await ok([
      'vms',
      'deploy',
      '--name',
      `deployed <${suffix}>`,
      '--template',
      story.templateId,
      '--pool',
      filesPool,
      '--memory',
      '128M',
    ]);
    assert.match(run.stderr, /vm\.deploy \[[^\]]*\] 100% Succeeded/);
    assert.match(run.stdout, /^state\s+Running$/m);
    assert.match(run.stdout, new RegExp(`^name\\s+deployed <${suffix}>$`, 'm'));
    const id = idOf(run);
    deployed.push(id);
    const dom = await exec('virsh', ['-c', 'qemu:///system', 'domstate', id]);
    assert.equal(dom.stdout.trim(), 'running', 'libvirt runs the deployed guest');
    await waitForGuestAgent(id);

    for (const vm of [id, idOf(stopped)]) {
      const roots = JSON.parse(
        (await ok(['-o', 'json', 'volumes', 'list', '--vm', vm, '--type', 'ROOT'])).stdout,
      ) as { items: Array<{ poolId: string; state: string; sizeBytes: number }> };
      assert.equal(roots.items.length, 1, 'one ROOT volume');
      assert.equal(roots.items[0]!.poolId, filesPool);
      assert.equal(roots.items[0]!.sizeBytes, await virtualSize(story.guest.baseImage));
    }

    const missing = await strata(['vms', 'deploy', '--name', 'x', '--template', 'no-such-template']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /NOT_FOUND/);

    await ok(['vms', 'stop', id, '--force']);
    // destroy, recover, then destroy with expunge: the ROOT volume goes with the VM
    await ok(['vms', 'destroy', id]);
    assert.match((await ok(['vms', 'get', id])).stdout, /^state\s+Destroyed$/m);
    assert.match((await ok(['vms', 'recover', id])).stdout, /^state\s+Stopped$/m);
    assert.match((await ok(['vms', 'destroy', id, '--expunge'])).stdout, /^state\s+Expunged$/m);
    assert.match((await ok(['vms', 'get', id])).stdout, /^state\s+Expunged$/m);
    const left = JSON.parse((await ok(['-o', 'json', 'volumes', 'list', '--vm', id])).stdout) as {
      items: Array<{ state: string }>;
    };
    assert.deepEqual(
      left.items.map((v) => v.state),
      ['Destroyed'],
    );
    await ok(['vms', 'delete', idOf(stopped)]);
    assert.match((await ok(['vms', 'expunge', idOf(stopped)])).stdout, /^state\s+Expunged$/m);
    assert.match((await ok(['vms', 'get', idOf(stopped)])).stdout, /^state\s+Expunged$/m);
  },
);
