import assert from 'node:assert/strict';
import { setWriterInterval } from '@strata/testing';
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { prepareBackends } from './backends.js';
import { bringUp, DEMO_HOST_STATE_DIR, type Environment } from './demo.js';
import { discardVm } from './discard-vm.js';
import { openMountNamespace } from './mount-namespace.js';
import { startServerProcess } from './processes.js';
import type { Page } from './rest.js';
import { buildDemoVm, waitForGuestAgent, type SnapshotView, type VolumeView } from './story.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every file of a qcow2 chain (qemu-img on this machine, the host side). */
async function chainOf(path: string): Promise<string[]> {
  const { stdout } = await run('qemu-img', ['info', '-U', '--backing-chain', '--output=json', path]);
  return (JSON.parse(stdout) as Array<{ filename: string }>).map((i) => i.filename);
}

/**
 * Its own Ceph pool: this test collects orphans, and in the shared pool every other test's images
 * and group snapshots, unknown to this server's database, are orphans to it (the torture test
 * running beside it lost its group snapshots that way).
 */
const CEPH_POOL = 'strata-ns';

type Orphans = { orphans: Array<{ kind: string; ref: string; hostId: string | null }> };

// Issue 20, item 1 (the acid test): the management server never touches a host's files or
// daemons. It runs in its own mount namespace where the qcow2 and tgt pool directories, the
// snapshot store, every host state directory, /run/libvirt and /run/tgtd (/var/run/tgtd) are empty tmpfs; the agent (a KVM
// host and the storage node) runs outside, on the real ones. A VM with disks on qcow2, tgt and
// (when Ceph runs) RBD goes through its life: deploy, a guest-quiesced VM snapshot, one with
// memory, a volume snapshot, an orphan found and collected, a revert from memory, the deletes,
// a detach and a volume delete. Everything works; the host sees its files at each step while the
// server's view of every masked directory stays empty. The template directories are masked too:
// templates are registered (and sized, when no size is given) by an agent that has the files.
// (Ceph's configuration stays visible: rbd runs in the server with a keyring.)
test(
  'a server that sees no pool, host state, libvirt or tgtd runs the whole VM lifecycle through the agent',
  { timeout: 1_200_000 },
  async (t) => {
    const root = await mkdtemp('/var/tmp/strata-ns-');
    // QEMU runs as its own user: it walks down to the state directory and the pool.
    await chmod(root, 0o755);
    const stateDir = join(root, 'state');
    await mkdir(stateDir, { mode: 0o755 });
    await writeFile(join(stateDir, 'host-only-marker'), 'seen only on the host');
    const children: ChildProcess[] = [];
    const lines: string[] = [];
    const log = (l: string) => lines.push(`${new Date().toISOString()} ${l}`);
    let env: Environment | undefined;
    let vmId: string | undefined;
    try {
      // The backends first (idempotent; bringUp finds them up): the pool directories must exist
      // to be masked before the server starts.
      const b = await prepareBackends(root, log, CEPH_POOL);
      // A template directory of the server's (its default DATA_DIR/templates), on this machine
      // only: an image and a link that leads out of the directory.
      const ownTemplates = join(root, 'server', 'templates');
      await mkdir(ownTemplates, { recursive: true, mode: 0o700 });
      const ownImage = join(ownTemplates, `own "tiny" $x;<y>.qcow2`);
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', ownImage, '24M']);
      await symlink('/etc/hostname', join(ownTemplates, 'escape.qcow2'));
      const ns = await openMountNamespace();
      children.push(ns.holder);
      const tgtdRun = await realpath('/var/run/tgtd');
      const masked = [
        dirname(b.guest.baseImage),
        ownTemplates,
        dirname(b.qcow2Dir),
        dirname(b.tgtDir),
        b.snapshotStore,
        stateDir,
        DEMO_HOST_STATE_DIR,
        '/run/libvirt',
        tgtdRun,
      ];
      await ns.mask(masked);
      const serverSeesNothing = async (when: string) => {
        for (const dir of masked)
          assert.deepEqual(await ns.ls(dir), [], `${when}: the server sees nothing in ${dir}`);
      };
      await serverSeesNothing('at start');
      assert.ok((await readdir('/run/libvirt')).includes('libvirt-sock'), "the host's libvirtd answers");
      assert.ok((await readdir(tgtdRun)).length > 0, "the host's tgtd has its control socket");

      const port = 19_000 + Math.floor(Math.random() * 1000);
      const agentPort = port + 1000;
      await startServerProcess({
        dataDir: join(root, 'server'),
        port,
        agentPort,
        detached: false,
        track: (c) => children.push(c),
        env: { STRATA_HOST_STATE_DIR: stateDir },
        wrap: ns.wrap,
      });
      // bringUp finds the server answering and starts the agent here, outside the namespace.
      env = await bringUp({
        root,
        port,
        agentPort,
        detached: false,
        log,
        track: (c) => children.push(c),
        hostStateDir: stateDir,
        cephPool: CEPH_POOL,
      });
      const { rest, cloud } = env;
      // bringUp registered the guest's template (and its kernel) through the agent; one without a
      // size is sized there, and a link out of the allowed directory is refused there.
      const sized = await rest.post<{ sizeBytes: number }>('/v1/templates', {
        name: 'sized by the agent',
        path: ownImage,
        format: 'qcow2',
      });
      assert.equal(sized.sizeBytes, 24 * 1024 ** 2, 'the agent read the virtual size');
      await assert.rejects(
        rest.post('/v1/templates', {
          name: 'escape',
          path: join(ownTemplates, 'escape.qcow2'),
          format: 'raw',
        }),
        (e: { code?: string; details?: { field?: string } }) =>
          e.code === 'INVALID_ARGUMENT' && e.details?.field === 'path',
      );
      const { vm, disks } = await buildDemoVm(rest, b, cloud, log);
      vmId = vm.id;
      const volume = (label: string) => disks.find((d) => d.label === label)!.volume;
      const [qcow2Data, tgtData] = [volume('qcow2 file'), volume('iSCSI LUN (tgt)')];
      assert.equal(disks.length, cloud.pools.rbd ? 4 : 3, 'ROOT, qcow2, tgt (and RBD) disks');
      const tgtFile = join(b.tgtDir, 'volumes', `${tgtData.id}.raw`);
      assert.ok((await readdir(dirname(tgtFile))).includes(`${tgtData.id}.raw`), 'the LUN is on the host');
      const vmFiles = async () => (await readdir(stateDir)).filter((n) => n.startsWith(`${vm.id}.`));
      const inStore = async () => (await readdir(b.snapshotStore)).filter((n) => n.startsWith(`${vm.id}.`));
      await waitForGuestAgent(vm.id);
      // no writer history is read here: a slow writer keeps the guest from holding a CPU
      await setWriterInterval(vm.id, 1);
      await sleep(3_000);

      const guest = (
        await rest.run<SnapshotView>('/v1/vm-snapshots', {
          vmId: vm.id,
          name: 'guest <ns>',
          quiesce: 'guest',
        })
      ).resource;
      const guestSnap = await rest.get<SnapshotView>(`/v1/vm-snapshots/${guest.id}`);
      assert.equal(guestSnap.state, 'Ready');
      assert.equal(guestSnap.consistency, 'filesystem', 'the guest froze its filesystems for the cut');
      await sleep(2_000);
      const memory = (
        await rest.run<SnapshotView>('/v1/vm-snapshots', {
          vmId: vm.id,
          name: "with 'memory'",
          snapshotMemory: true,
        })
      ).resource;
      assert.equal((await rest.get<SnapshotView>(`/v1/vm-snapshots/${memory.id}`)).state, 'Ready');
      assert.deepEqual(
        await inStore(),
        [`${vm.id}.${memory.id}.memory`],
        'the memory state is in the snapshot store the host mounts',
      );
      const volSnap = (
        await rest.run<{ id: string }>('/v1/volume-snapshots', { volumeId: tgtData.id, name: 'lun "point"' })
      ).resource;
      assert.equal((await rest.get<{ state: string }>(`/v1/volume-snapshots/${volSnap.id}`)).state, 'Ready');

      // An orphan in the host state directory: only the agent can list it for the server.
      const stray = join(stateDir, `${vm.id}.vmsnap-gone.memory`);
      await writeFile(stray, 'memory of a snapshot that never finished');
      const found = await rest.get<Orphans>('/v1/orphans');
      assert.deepEqual(
        found.orphans.filter((o) => o.kind === 'file').map((o) => [o.ref, o.hostId]),
        [[stray, cloud.host.id]],
      );
      await serverSeesNothing('with snapshots taken');

      await rest.run(`/v1/vms/${vm.id}/stop`);
      await rest.run(`/v1/vm-snapshots/${memory.id}/revert`);
      assert.equal(
        (await rest.get<{ state: string }>(`/v1/vms/${vm.id}`)).state,
        'Running',
        'back from memory',
      );
      await rest.runDelete(`/v1/vm-snapshots/${guest.id}`);
      await rest.runDelete(`/v1/vm-snapshots/${memory.id}`);
      await rest.runDelete(`/v1/volume-snapshots/${volSnap.id}`);
      for (const v of [tgtData, qcow2Data]) {
        await rest.run(`/v1/volumes/${v.id}/detach`);
        await rest.runDelete(`/v1/volumes/${v.id}`);
      }
      await rest.run('/v1/orphans/collect');

      assert.equal((await rest.get<{ state: string }>(`/v1/vms/${vm.id}`)).state, 'Running');
      assert.deepEqual(await vmFiles(), [], 'no file of the VM is left in the host state directory');
      assert.deepEqual(await readdir(stateDir), ['host-only-marker'], 'the host keeps its own');
      assert.deepEqual(await inStore(), [], 'no memory state of the VM is left in the store');
      assert.ok(!(await readdir(dirname(tgtFile))).includes(`${tgtData.id}.raw`), 'the deleted LUN is gone');
      const pool = b.qcow2Dir;
      const left = (await readdir(pool)).filter((n) => n.endsWith('.qcow2'));
      assert.ok(!left.some((n) => n.startsWith(`${qcow2Data.id}.`)), 'the deleted volume left no file');
      // The pool holds the ROOT volume's active chain and no other layer of it.
      const rootVol = (await rest.get<Page<VolumeView>>('/v1/volumes', { vmId: vm.id, type: 'ROOT' }))
        .items[0]!;
      const chain = (await chainOf(rootVol.backendRef!)).filter((f) => f.startsWith(`${pool}/`));
      assert.deepEqual(
        left
          .filter((n) => n.startsWith(`${rootVol.id}.`))
          .map((n) => join(pool, n))
          .sort(),
        chain.sort(),
        'only the active chain of the ROOT volume is left',
      );
      assert.deepEqual(
        (await rest.get<Orphans>('/v1/orphans')).orphans.filter((o) => o.kind === 'file'),
        [],
        'nothing left to collect',
      );
      await serverSeesNothing('at the end');
    } catch (e) {
      t.diagnostic(lines.join('\n'));
      throw e;
    } finally {
      await discardVm(env?.rest, vmId);
      for (const c of children.reverse()) c.kill('SIGTERM');
      await sleep(2_000);
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await rm(root, { recursive: true, force: true });
    }
  },
);
