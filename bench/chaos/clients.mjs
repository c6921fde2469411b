// The chaos run's clients: each runs a random mix of operations against one VM of its own until
// the deadline. A refusal or a failure (the server down, a coded error) is counted, never fatal;
// a client that finds the server down waits until it answers again, and a job it waits for is
// followed through the server's restart.
const MiB = 1024 ** 2;
import { setTimeout as sleep } from 'node:timers/promises';
const pick = (list) => list[Math.floor(Math.random() * list.length)];
const isDown = (e) => String(e?.code ?? '') === 'CONNECTION_FAILED';

/** A call refused or failed before any job (the server down, a coded error): counted by kind. */
function count(stats, what, e) {
  stats.refused++;
  if (isDown(e)) stats.refusedWhileDown++;
  const kind = `${what}: ${String(e?.code ?? '')} ${String(e?.message ?? e).slice(0, 120)}`;
  stats.errors[kind] = (stats.errors[kind] ?? 0) + 1;
}

/** Until the server answers again (it is being restarted), at most 3 minutes. */
async function serverBack(rest, stats) {
  const t0 = Date.now();
  while (Date.now() - t0 < 180_000) {
    try {
      await rest.get('/v1/jobs', { limit: 1 });
      stats.waitedForServerMs += Date.now() - t0;
      return;
    } catch (e) {
      if (!isDown(e)) return;
      await sleep(1000);
    }
  }
}

/** A job's end, waiting through server restarts (the job goes on after one); null after 10 min. */
async function jobEnd(rest, id, stats) {
  const end = Date.now() + 600_000;
  while (Date.now() < end) {
    try {
      const j = await rest.get(`/v1/jobs/${id}`, { wait: 5 });
      if (j.state === 'Succeeded' || j.state === 'Failed') return j;
    } catch (e) {
      if (!isDown(e)) throw e;
      await serverBack(rest, stats);
    }
  }
  return null;
}

export async function runClient(
  n,
  { rest, vmId, pools, templateId, qcow2Pool, hostId, deadline, stats, deployed },
) {
  const mine = { detached: [], attached: [], snapshots: [] };
  let k = 0;
  const job = async (what, start) => {
    stats.operations++;
    stats.byOp[what] = (stats.byOp[what] ?? 0) + 1;
    let accepted;
    try {
      accepted = await start();
    } catch (e) {
      count(stats, what, e);
      // a client of a restarting server waits for it to answer again, as a real one retries later
      if (isDown(e)) await serverBack(rest, stats);
      return null;
    }
    stats.jobIds.add(accepted.job.id);
    const end = await jobEnd(rest, accepted.job.id, stats);
    if (end?.state !== 'Succeeded') {
      stats.failedJobs++;
      const kind = `${what}: job ${end?.state ?? 'unknown'} ${end?.error?.code ?? ''}`;
      stats.errors[kind] = (stats.errors[kind] ?? 0) + 1;
    }
    return end?.state === 'Succeeded' ? accepted : null;
  };
  const ops = {
    create: async () => {
      const a = await job('create', () =>
        rest.post('/v1/volumes', {
          name: `chaos ${n}-${++k} "<$x>"`,
          poolId: pick(pools),
          sizeBytes: 32 * MiB,
        }),
      );
      if (a) mine.detached.push(a.resource.id);
    },
    attach: async () => {
      const id = mine.detached.pop();
      if (!id) return ops.create();
      const a = await job('attach', () => rest.post(`/v1/volumes/${id}/attach`, { vmId }));
      (a ? mine.attached : mine.detached).push(id);
    },
    detach: async () => {
      const id = mine.attached.pop();
      if (!id) return ops.attach();
      const a = await job('detach', () => rest.post(`/v1/volumes/${id}/detach`));
      (a ? mine.detached : mine.attached).push(id);
    },
    qos: async () => {
      const id = pick(mine.attached);
      if (!id) return ops.attach();
      await job('qos', () =>
        rest.api.request('PUT', `/v1/volumes/${id}/qos`, {
          body: { minIops: 50, maxIops: 200 + Math.floor(Math.random() * 800) },
        }),
      );
    },
    snapshot: async () => {
      const a = await job('snapshot', () =>
        rest.post('/v1/vm-snapshots', { vmId, name: `chaos ${n}-${++k}`, quiesce: 'hypervisor' }),
      );
      if (a) mine.snapshots.push(a.resource.id);
    },
    revert: async () => {
      const id = pick(mine.snapshots);
      if (!id) return ops.snapshot();
      await job('revert', () =>
        rest.api.request('POST', `/v1/vm-snapshots/${id}/revert`, { query: { restart: true } }),
      );
    },
    delete: async () => {
      if (mine.snapshots.length > 2 && Math.random() < 0.5) {
        const id = mine.snapshots.shift();
        await job('delete', () => rest.api.request('DELETE', `/v1/vm-snapshots/${id}`));
        return;
      }
      const id = mine.detached.shift();
      if (!id) return ops.detach();
      const a = await job('delete', () => rest.api.request('DELETE', `/v1/volumes/${id}`));
      if (!a) mine.detached.push(id);
    },
    deploy: async () => {
      // TCG guests are dear on a shared machine: one deploy per client at most
      if (deployed.some((d) => d.client === n)) return ops.create();
      const a = await job('deploy', () =>
        rest.post('/v1/vms/deploy', {
          name: `chaos deploy ${n} "<&>"`,
          templateId,
          poolId: qcow2Pool,
          memoryBytes: 128 * MiB,
          hostId,
          start: true,
        }),
      );
      if (a) deployed.push({ client: n, id: a.resource.id });
    },
  };
  const names = Object.keys(ops);
  while (Date.now() < deadline) {
    await ops[pick(names)]();
    await sleep(500);
  }
}
