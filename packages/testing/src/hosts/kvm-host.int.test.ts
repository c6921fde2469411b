import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureLibvirt, LIBVIRT_URI } from '../libvirt/ensure-libvirt.js';
import { run } from '../tgt/run.js';
import { startKvmHost, type KvmHost } from './kvm-host.js';
import { hostProcesses } from './namespace.js';
import { HOSTS_ROOT, reapStaleHosts } from './stale-hosts.js';

const suffix = () => Math.random().toString(36).slice(2, 7);
const names = async (uri: string) =>
  (await run('virsh', ['-q', '-c', uri, 'list', '--all', '--name'])).stdout.split('\n').filter(Boolean);
const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );
const mountsOf = async (dir: string) =>
  (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes(dir));

/** A diskless TCG domain: enough to show which libvirtd runs it (it idles in the firmware). */
async function bootDiskless(uri: string, name: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-kvm-host-'));
  try {
    const xml = join(dir, 'domain.xml');
    await writeFile(
      xml,
      `<domain type='qemu'><name>${name}</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>
        <os><type arch='x86_64' machine='pc'>hvm</type></os>
        <features><tcg><tb-cache unit='MiB'>16</tb-cache></tcg></features>
        <devices><memballoon model='none'/></devices></domain>`,
    );
    await run('virsh', ['-q', '-c', uri, 'create', '--file', xml]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test(
  'two KVM hosts on this machine: each its own libvirtd, identity, hostname, initiator and state directory; stop leaves nothing',
  { timeout: 300_000 },
  async () => {
    await ensureLibvirt();
    const machineIqn = await readFile('/etc/iscsi/initiatorname.iscsi', 'utf8').catch(() => '');
    const hosts: KvmHost[] = [];
    try {
      const a = await startKvmHost({ name: `kh-a-${suffix()}` });
      hosts.push(a);
      const b = await startKvmHost({ name: `kh-b-${suffix()}` });
      hosts.push(b);

      for (const h of [a, b]) {
        // inside, plain qemu:///system is the host's own daemon, with the host's own uuid
        const caps = (await h.exec('virsh', ['-q', '-c', LIBVIRT_URI, 'capabilities'])).stdout;
        assert.match(caps, new RegExp(`<uuid>${h.hostUuid}</uuid>`), `${h.name} answers inside`);
        const outside = (await run('virsh', ['-q', '-c', h.uri, 'capabilities'])).stdout;
        assert.match(outside, new RegExp(`<uuid>${h.hostUuid}</uuid>`), `${h.name} answers at its uri`);
        assert.equal((await h.exec('hostname', [])).stdout.trim(), h.name);
        const iqn = (await h.exec('cat', ['/etc/iscsi/initiatorname.iscsi'])).stdout;
        assert.match(iqn, new RegExp(`^InitiatorName=${h.initiatorName}$`, 'm'));
        assert.deepEqual(await names(h.uri), [], 'no domain of the machine is copied in');
        const secrets = (await run('virsh', ['-q', '-c', h.uri, 'secret-list'])).stdout.trim();
        assert.equal(secrets, '', 'no secret of the machine is copied in');
      }
      assert.notEqual(a.hostUuid, b.hostUuid);
      assert.notEqual(a.initiatorName, b.initiatorName);
      const machineCaps = (await run('virsh', ['-q', '-c', LIBVIRT_URI, 'capabilities'])).stdout;
      assert.doesNotMatch(machineCaps, new RegExp(a.hostUuid), "the machine's libvirtd is another");

      const domain = `kh-dom-${suffix()}`;
      await bootDiskless(a.uri, domain);
      assert.deepEqual(await names(a.uri), [domain]);
      assert.ok(!(await names(b.uri)).includes(domain), 'not in the other host');
      assert.ok(!(await names(LIBVIRT_URI)).includes(domain), "not in the machine's libvirtd");

      // the state directory is the host's own: the machine (and a server there) sees its own
      await a.exec('touch', [join(a.stateDir, 'only-on-a')]);
      assert.ok(await exists(join(a.dir, 'state', 'only-on-a')));
      assert.deepEqual((await b.exec('ls', ['-A', b.stateDir])).stdout, '');
      const machineState: string[] = await readdir('/var/lib/strata/state').catch(() => []);
      assert.ok(!machineState.includes('only-on-a'), "not in the machine's");
      assert.equal(await readFile('/etc/iscsi/initiatorname.iscsi', 'utf8').catch(() => ''), machineIqn);

      assert.ok((await hostProcesses(join(a.dir, 'run'))).length >= 3, 'holder, virtlogd, libvirtd, QEMU');
      await a.stop();
      assert.deepEqual(await hostProcesses(join(a.dir, 'run')), [], 'no process of the host is left');
      assert.equal(await exists(a.dir), false, 'its directories are gone');
      assert.deepEqual(await mountsOf(a.dir), [], 'no mount of it on the machine');
      const qemu = await run('pgrep', ['-f', `guest=${domain}`]).catch(() => null);
      assert.equal(qemu, null, 'its QEMU is gone');
      assert.deepEqual(await names(b.uri), [], 'the other host is untouched');
      await a.stop(); // idempotent
    } finally {
      for (const h of hosts) await h.stop();
    }
  },
);

test(
  'a host whose test process was killed is reaped by the next start: daemons ended, directories removed',
  {
    timeout: 180_000,
  },
  async () => {
    const name = `kh-stale-${suffix()}`;
    const index = new URL('../index.js', import.meta.url).pathname;
    // a process that starts a host and is SIGKILLed: the host's daemons outlive it
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { startKvmHost } = await import(${JSON.stringify(index)});
       const h = await startKvmHost({ name: ${JSON.stringify(name)} });
       process.stdout.write(h.dir + '\\n');
       process.kill(process.pid, 'SIGKILL');`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => child.on('close', r));
    const dir = out.trim();
    assert.ok(dir.startsWith(`${HOSTS_ROOT}/${name}.`), `the child printed its host directory: ${out}`);
    assert.ok((await hostProcesses(join(dir, 'run'))).length >= 2, 'its virtlogd and libvirtd still run');
    const reaped = await reapStaleHosts();
    assert.ok(
      reaped.some((r) => dir.endsWith(r)),
      `reaped ${reaped.join(' ')}`,
    );
    assert.deepEqual(await hostProcesses(join(dir, 'run')), []);
    assert.equal(await exists(dir), false);
  },
);
