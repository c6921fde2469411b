// The chaos run's end: every job terminal, no guest frozen or paused, the orphan scan empty, every
// volume's data readable, the database equal to libvirt and the backends.
import { execFile } from 'node:child_process';
import { Buffer } from 'node:buffer';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { invariantProblems, volumeExists, waitHostsUp } from '../../packages/demo/dist/crash-checks.js';

const run = promisify(execFile);
import { setTimeout as sleep } from 'node:timers/promises';
const TERMINAL = ['Succeeded', 'Failed'];

async function all(rest, path, query = {}) {
  const items = [];
  let cursor;
  do {
    const page = await rest.get(path, { ...query, limit: 200, ...(cursor ? { cursor } : {}) });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/** Reads the volume's first MiB from its backend: the file (qcow2 via qemu-img, tgt raw) or the RBD image. */
async function readable(cx, v) {
  try {
    if (v.poolId === cx.cloud.pools.tgt) {
      const f = await open(join(cx.tgtDir, 'volumes', `${v.id}.raw`), 'r');
      try {
        await f.read(Buffer.alloc(1024 * 1024), 0, 1024 * 1024, 0);
      } finally {
        await f.close();
      }
      return true;
    }
    if (v.poolId === cx.cloud.pools.qcow2) {
      await run('qemu-img', ['check', '-U', v.backendRef], { timeout: 120_000 });
      return true;
    }
    const c = cx.backends.ceph;
    await run(
      'rbd',
      [
        '--conf',
        c.confPath,
        '--keyring',
        c.adminKeyringPath,
        '--id',
        'admin',
        'bench',
        '--io-type',
        'read',
        '--io-total',
        '1048576',
        '--io-size',
        '65536',
        v.backendRef,
      ],
      { timeout: 120_000 },
    );
    return true;
  } catch {
    return false;
  }
}

export async function finalChecks(cx, vmIds, log) {
  const rest = cx.env.rest;
  await waitHostsUp(rest, 180_000);
  // every job ends: wait up to 10 minutes for those still queued or running
  let open_ = [];
  const end = Date.now() + 600_000;
  do {
    open_ = (await all(rest, '/v1/jobs')).filter((j) => !TERMINAL.includes(j.state));
    if (open_.length === 0) break;
    await sleep(5000);
  } while (Date.now() < end);
  log(`jobs not terminal: ${open_.length}`);
  const details = { jobs_not_terminal: open_.map((j) => `${j.type} ${j.id} ${j.state}`) };

  const orphans = await rest.get('/v1/orphans');
  details.orphans = [...orphans.orphans.map((o) => `${o.kind} ${o.ref}: ${o.reason}`), ...orphans.warnings];

  details.frozen_guests = [];
  details.db_mismatches = [];
  for (const id of vmIds) {
    const vm = await rest.get(`/v1/vms/${id}`).catch(() => null);
    if (!vm || ['Destroyed', 'Expunged', 'Expunging'].includes(vm.state)) continue;
    for (const p of await invariantProblems(cx, id)) {
      if (/^orphan |^collector warning/.test(p)) continue; // counted once above
      if (/paused|frozen/.test(p)) details.frozen_guests.push(`${id}: ${p}`);
      else details.db_mismatches.push(`${id}: ${p}`);
    }
  }
  details.unreadable_volumes = [];
  const volumes = (await all(rest, '/v1/volumes')).filter((v) =>
    [cx.cloud.pools.tgt, cx.cloud.pools.qcow2, cx.cloud.pools.rbd].includes(v.poolId),
  );
  for (const v of volumes) {
    if (v.state !== 'Ready') {
      details.db_mismatches.push(`volume ${v.id} left ${v.state}`);
      continue;
    }
    if (!(await volumeExists(cx, v)))
      details.db_mismatches.push(`volume ${v.id}: ${v.backendRef} is not on its backend`);
    else if (!(await readable(cx, v))) details.unreadable_volumes.push(`${v.id} (${v.backendRef})`);
  }
  log(`checked ${volumes.length} volumes, ${vmIds.length} VMs`);
  return {
    volumes_checked: volumes.length,
    jobs_not_terminal: details.jobs_not_terminal.length,
    frozen_guests: details.frozen_guests.length,
    orphans: details.orphans.length,
    unreadable_volumes: details.unreadable_volumes.length,
    db_mismatches: details.db_mismatches.length,
    details,
  };
}
