// What the tests leave behind on this machine, and its removal. The test runner marks each test
// file's processes with STRATA_TEST_FILE in their environment and kills the ones still alive when
// the file ends (passed, failed or timed out). Domains, libvirt secrets, tgt targets and RBD images
// are made by daemons, which carry no mark: the runner notes those present before the suite (the
// README's demo, left running by the first command, owns them) and removes any other at the end.
import { execFile } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';

/** Shared daemons a test may have been first to start: they serve the demo and later files too. */
const SHARED_DAEMONS = new Set([
  'libvirtd',
  'virtlogd',
  'virtlockd',
  'tgtd',
  'ceph-mon',
  'ceph-mgr',
  'ceph-osd',
  'postgres',
  'qemu-system-x86',
]);
/** The demo's Ceph pool; every other `strata-*` pool of the local cluster is a test's. */
const DEMO_RBD_POOL = 'strata-demo';
const CEPH_DIR = process.env['STRATA_CEPH_DIR'] ?? '/var/tmp/strata-ceph';

function run(cmd, args, timeout = 60_000) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) =>
      resolve(err ? null : stdout),
    );
  });
}

/**
 * Pids of live processes whose environment carries `marker` (NAME=value), less shared daemons. A
 * daemon in another mount namespace is a test KVM host's own (packages/testing/src/hosts), not shared.
 */
export function markedProcesses(marker) {
  const out = [];
  const ownNamespace = readlinkSync('/proc/self/ns/mnt');
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'latin1').split('\0');
      if (!env.includes(marker)) continue;
      const exe = readlinkSync(`/proc/${name}/exe`).split('/').pop() ?? '';
      const comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
      const shared = SHARED_DAEMONS.has(comm) || SHARED_DAEMONS.has(exe.replace(/ \(deleted\)$/, ''));
      if (shared && readlinkSync(`/proc/${name}/ns/mnt`) === ownNamespace) continue;
      out.push({ pid: Number(name), comm });
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return out;
}

/** SIGKILLs what a test file left running; answers what it killed. */
export function killMarked(marker) {
  const left = markedProcesses(marker);
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return left.map((p) => `process ${p.pid} (${p.comm})`);
}

const virsh = (args) => run('virsh', ['-q', '-c', 'qemu:///system', ...args], 30_000);
const lines = (text) =>
  (text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
const libvirtUp = () => existsSync('/run/libvirt/libvirt-sock');
const tgtUp = () => existsSync('/var/run/tgtd/socket.0');
const cephUp = () => existsSync(`${CEPH_DIR}/ceph.conf`) && existsSync(`${CEPH_DIR}/admin.keyring`);
const rbd = (args) =>
  run('rbd', [
    '--conf',
    `${CEPH_DIR}/ceph.conf`,
    '--keyring',
    `${CEPH_DIR}/admin.keyring`,
    '--id',
    'admin',
    ...args,
  ]);

async function domains() {
  return libvirtUp() ? lines(await virsh(['list', '--all', '--name'])) : [];
}
async function secrets() {
  return libvirtUp() ? lines(await virsh(['secret-list'])).map((l) => l.split(/\s+/)[0]) : [];
}
async function targets() {
  if (!tgtUp()) return [];
  const text = await run('tgtadm', ['--lld', 'iscsi', '--op', 'show', '--mode', 'target']);
  return [...(text ?? '').matchAll(/^Target (\d+): (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
}
async function testPools() {
  const text = await run('ceph', [
    '--conf',
    `${CEPH_DIR}/ceph.conf`,
    '--keyring',
    `${CEPH_DIR}/admin.keyring`,
    'osd',
    'pool',
    'ls',
    '--format',
    'json',
  ]);
  return JSON.parse(text || '[]').filter((p) => p.startsWith('strata-') && p !== DEMO_RBD_POOL);
}
async function rbdImages() {
  if (!cephUp()) return [];
  const out = [];
  for (const pool of await testPools()) {
    const text = await rbd(['ls', '--format', 'json', pool]);
    if (text) for (const i of JSON.parse(text || '[]')) out.push(`${pool}/${i}`);
  }
  return out;
}

/** Every test runner on this machine notes itself here while it runs, and in `started` for good. */
const RUNNERS = '/run/strata-test-runners';

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Notes this runner as running; answers `alone()`: true when no other runner ran beside this one
 * at any moment since. Only then is "made during this run" the same as "made by this run's tests":
 * two suites at once (engineers on one machine) must not remove each other's domains.
 */
export function registerRunner() {
  mkdirSync(RUNNERS, { recursive: true });
  const since = Date.now();
  let seenOther = otherRunners().length > 0;
  writeFileSync(`${RUNNERS}/${process.pid}`, String(since));
  appendFileSync(`${RUNNERS}/started`, `${process.pid} ${since}\n`);
  process.on('exit', () => rmSync(`${RUNNERS}/${process.pid}`, { force: true }));
  return {
    /** Called now and then (after each file): notes any other runner alive at that moment. */
    look() {
      seenOther ||= otherRunners().length > 0;
    },
    alone() {
      this.look();
      if (seenOther) return false;
      const log = readFileSync(`${RUNNERS}/started`, 'utf8').trim().split('\n');
      return !log.some((l) => {
        const [pid, at] = l.split(' ').map(Number);
        return pid !== process.pid && at >= since;
      });
    },
  };
}

/** Other live test runners: any process running a run-tests.mjs (of any clone), or noted in RUNNERS. */
function otherRunners() {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (cmd.some((a) => a.endsWith('run-tests.mjs'))) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  for (const f of readdirSync(RUNNERS))
    if (/^\d+$/.test(f) && Number(f) !== process.pid && alive(Number(f))) out.push(Number(f));
  return out;
}

/** What exists now that tests could leave: noted before the suite so the demo's stays. */
export async function residueSnapshot() {
  return {
    domains: await domains(),
    secrets: await secrets(),
    targets: await targets(),
    rbd: await rbdImages(),
  };
}

/** Removes every domain, secret, target and test-pool image not in `before`; answers what it removed. */
export async function removeNew(before) {
  const removed = [];
  for (const d of await domains()) {
    if (before.domains.includes(d)) continue;
    await virsh(['destroy', d]);
    await virsh(['undefine', '--nvram', d]).then((r) => r ?? virsh(['undefine', d]));
    removed.push(`domain ${d}`);
  }
  for (const s of await secrets()) {
    if (before.secrets.includes(s)) continue;
    await virsh(['secret-undefine', s]);
    removed.push(`libvirt secret ${s}`);
  }
  for (const t of await targets()) {
    if (before.targets.includes(t)) continue;
    const tid = t.split(' ')[0];
    await run('tgtadm', ['--lld', 'iscsi', '--op', 'delete', '--mode', 'target', '--tid', tid, '--force']);
    removed.push(`tgt target ${t}`);
  }
  // Test pools are the tests' alone: every image there is a leftover, clones first.
  const images = await rbdImages();
  for (const pool of cephUp() ? await testPools() : []) {
    for (const g of JSON.parse((await rbd(['group', 'ls', '--format', 'json', pool])) || '[]'))
      await rbd(['group', 'rm', `${pool}/${g}`]);
  }
  for (let pass = 0; pass < 4 && images.length > 0; pass++) {
    for (const spec of [...images]) {
      const snaps = JSON.parse((await rbd(['snap', 'ls', '--all', '--format', 'json', spec])) || '[]');
      for (const s of snaps)
        if (s.protected === 'true') await rbd(['snap', 'unprotect', `${spec}@${s.name}`]);
      await rbd(['snap', 'purge', '--no-progress', spec]);
      if ((await rbd(['rm', '--no-progress', spec])) !== null) {
        images.splice(images.indexOf(spec), 1);
        if (!before.rbd.includes(spec)) removed.push(`rbd image ${spec}`);
      }
    }
  }
  return removed;
}
