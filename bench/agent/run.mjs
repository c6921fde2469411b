#!/usr/bin/env node
// bench/agent: our freeze/thaw, disk-only snapshot, block commit and hot-attach latencies side by
// side with plain virsh on the same guest in the same run (interleaved, medians), as ratios
// ours/plain; plus the agent's resident memory while it manages three running guests.
// Writes bench/results/agent.json. Usage: node bench/agent/run.mjs [rounds]
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { cpus, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { HostAgent, diskXml } from '@strata/agent';
import { buildTestGuest, ensureLibvirt, makeGuestDir, uniqueName, waitForGuestAgent } from '@strata/testing';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'results', 'agent.json');
const rounds = Number(process.argv[2] ?? 31);
const URI = 'qemu:///system';
const virsh = (...args) => run('virsh', ['-q', '-c', URI, ...args], { timeout: 120_000 });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function rssMb(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

await ensureLibvirt();
const images = await buildTestGuest();
const agent = new HostAgent({ initiatorFile: '/tmp/strata-bench-initiatorname' });
await agent.start();
const guests = [];
try {
  for (let i = 0; i < 3; i++) {
    const name = uniqueName(`bench-agent-${i}`);
    const dir = await makeGuestDir(name);
    const data = join(dir, 'data.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', data, '64M']);
    await agent.defineFromTemplate(
      {
        name,
        cpus: 1,
        memoryBytes: 128 * 1024 * 1024,
        kernel: { path: images.kernel, initrd: images.initrd, cmdline: images.cmdline },
        root: { volumeId: 'root', baseImage: images.baseImage, overlayPath: join(dir, 'root.qcow2') },
        dataDisks: [
          { volumeId: 'data', target: 'vdb', source: { kind: 'file', path: data, format: 'qcow2' } },
        ],
      },
      { consoleLogPath: join(dir, 'console.log') },
    );
    guests.push({ name, dir, data });
    await agent.startVm(name);
  }
  for (const g of guests) await waitForGuestAgent(g.name, 120_000);
  await sleep(2000);

  const vm = guests[0];
  const samples = {
    freeze_thaw: [[], []],
    disk_snapshot: [[], []],
    block_commit: [[], []],
    hot_attach: [[], []],
  };
  const attachImage = join(vm.dir, 'attach.raw');
  await run('qemu-img', ['create', '-q', '-f', 'raw', attachImage, '16M']);
  const attachSpec = {
    volumeId: 'attach',
    target: 'vdc',
    source: { kind: 'file', path: attachImage, format: 'raw' },
  };
  const attachXml = join(vm.dir, 'attach.xml');
  await writeFile(attachXml, diskXml(attachSpec));

  for (let i = 0; i <= rounds; i++) {
    const keep = i > 0; // round 0 warms caches up
    const add = (key, ours, plain) => {
      if (!keep) return;
      samples[key][0].push(ours);
      samples[key][1].push(plain);
    };
    // Each pair runs ours first in even rounds and plain first in odd ones: whichever runs right
    // after the other may find the guest or QEMU still busy with it.
    const inTurn = async (a, b) => {
      if (i % 2 === 0) return [await a(), await b()];
      const second = await b();
      return [await a(), second];
    };
    const [fOurs, fPlain] = await inTurn(
      () =>
        timed(async () => {
          await agent.freeze(vm.name, 30_000);
          await agent.thaw(vm.name);
        }),
      () =>
        timed(async () => {
          await virsh('domfsfreeze', '--domain', vm.name);
          await virsh('domfsthaw', '--domain', vm.name);
        }),
    );
    add('freeze_thaw', fOurs, fPlain);

    // disk-only snapshot of vdb, then commit it back (ours: events; plain: --pivot, virsh waits itself)
    const o1 = join(vm.dir, `ours-${i}.qcow2`);
    const o2 = join(vm.dir, `plain-${i}.qcow2`);
    const [[sOurs, cOurs], [sPlain, cPlain]] = await inTurn(
      async () => [
        await timed(() => agent.diskOnlySnapshot(vm.name, [{ target: 'vdb', overlayPath: o1 }])),
        await timed(() => agent.blockCommit(vm.name, 'vdb')),
      ],
      async () => [
        await timed(() =>
          virsh(
            'snapshot-create-as',
            '--domain',
            vm.name,
            '--disk-only',
            '--atomic',
            '--no-metadata',
            '--diskspec',
            'vda,snapshot=no',
            '--diskspec',
            `vdb,file=${o2}`,
          ),
        ),
        await timed(() =>
          virsh('blockcommit', '--domain', vm.name, '--path', 'vdb', '--active', '--shallow', '--pivot'),
        ),
      ],
    );
    add('disk_snapshot', sOurs, sPlain);
    add('block_commit', cOurs, cPlain);
    await rm(o1, { force: true });
    await rm(o2, { force: true });
  }

  // Hot attach in rounds of its own: an attach or detach drops the agent's cached disk targets
  // (snapshots/disk-targets.ts), and the cut after one pays one more domblklist (about 40 ms).
  // Snapshots of a VM whose disks did not change are the case measured above.
  for (let i = 0; i <= rounds; i++) {
    const add = (key, ours, plain) => {
      if (i === 0) return;
      samples[key][0].push(ours);
      samples[key][1].push(plain);
    };
    const ours = () => timed(() => agent.attachDisk(vm.name, attachSpec, { live: true, persist: false }));
    const plain = () =>
      timed(() => virsh('attach-device', '--domain', vm.name, '--file', attachXml, '--live'));
    const detach = () => agent.detachDisk(vm.name, 'vdc', { live: true, persist: false });
    // Alternating which goes first: an attach right after a detach may find the guest still busy.
    const first = i % 2 === 0 ? ours : plain;
    const second = first === ours ? plain : ours;
    const a = await first();
    await detach();
    const b = await second();
    await detach();
    const [aOurs, aPlain] = first === ours ? [a, b] : [b, a];
    add('hot_attach', aOurs, aPlain);
  }

  const rss = (await rssMb(process.pid)) + (agent.events.pid ? await rssMb(agent.events.pid) : 0);
  const metrics = {};
  for (const [key, [ours, plain]] of Object.entries(samples)) {
    const mo = median(ours);
    const mp = median(plain);
    metrics[`ratio_${key}`] = { value: mo / mp, unit: 'ratio' };
    metrics[`${key}_ms_ours`] = { value: mo, unit: 'ms' };
    metrics[`${key}_ms_virsh`] = { value: mp, unit: 'ms' };
  }
  metrics.agent_rss_mb = { value: rss, unit: 'MB' };
  const result = {
    name: 'agent',
    when: new Date().toISOString(),
    machine: `${hostname()} ${cpus().length}x ${cpus()[0]?.model ?? 'cpu'}`,
    notes:
      'medians of interleaved rounds on one TCG guest; plain block commit is `blockcommit --active --pivot` (virsh waits by polling), ours waits for the block-job event; hot attach runs in rounds of its own after the snapshot rounds; agent_rss_mb = agent process + its virsh event stream, managing 3 running guests',
    metrics,
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
} finally {
  for (const g of guests) {
    await agent.destroyVm(g.name).catch(() => undefined);
    await rm(g.dir, { recursive: true, force: true });
  }
  await agent.close();
}
