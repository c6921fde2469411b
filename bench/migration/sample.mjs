// One measured migration of the VM from one host to the other, by Strata (REST API, job waited
// for) or natively (virsh): its total time, and the writer's longest stall around it.
import { setTimeout as sleep } from 'node:timers/promises';
import { nativeMigrate, virshAt } from './native.mjs';
import { now, stallOf, watchRecords } from './records.mjs';

/** Guest clock minus host clock, in ms, read through the guest agent on the host it runs on. */
async function guestOffsetMs(domain, uri) {
  const h0 = now();
  // qemu-agent-command taints the domain: fine for a benchmark (tests and diagnostics only)
  const { stdout } = await virshAt(
    uri,
    ['qemu-agent-command', '--timeout', '10', '--', domain, JSON.stringify({ execute: 'guest-get-time' })],
    15_000,
  );
  const ns = JSON.parse(stdout).return;
  const h1 = now();
  return Number(ns) / 1e6 - (h0 + h1) / 2;
}

const ms = (a, b) => (a && b ? Date.parse(b) - Date.parse(a) : NaN);

/** Strata: POST /v1/vms/{id}/migrate to the named host, timed from the call to the job's end. */
async function strataMigrate(rest, vmId, to) {
  const t0 = now();
  const { job } = await rest.run(`/v1/vms/${vmId}/migrate`, { hostId: to.id });
  const t1 = now();
  const steps = await rest.get(`/v1/jobs/${job.id}/steps`);
  const stepMs = {};
  const stepAtMs = {}; // when each step began, from the call (the server runs on this machine)
  for (const s of steps)
    if (s.phase === 'run') {
      stepMs[s.name] = ms(s.startedAt, s.finishedAt);
      stepAtMs[s.name] = Date.parse(s.startedAt) - t0;
    }
  const migrated = steps.find((s) => s.phase === 'run' && s.name === 'migrate')?.output;
  // The source's revoke runs after, in a job of its own (vm.revoke-source, queued by the record):
  // not on the caller's path, but waited for here so the next migration does not queue behind it.
  const revokeJobId = steps.find((s) => s.phase === 'run' && s.name === 'record')?.output?.revokeJobId;
  const revoke = revokeJobId ? await rest.waitJob({ id: revokeJobId }) : null;
  return {
    t0,
    t1,
    job: job.id,
    queuedMs: ms(job.createdAt, job.startedAt),
    stepMs,
    stepAtMs,
    agentMigrateMs: migrated?.tookMs ?? NaN,
    revokeAfterMs: revoke ? ms(revoke.startedAt, revoke.finishedAt) : NaN,
    revokeDoneAfterCallMs: revoke ? Date.parse(revoke.finishedAt) - t0 : NaN,
  };
}

/** Fails unless the domain runs on `to` and not on `from` (and Strata records it on `to`). */
async function checkWhere(vmId, from, to) {
  const on = async (h) => (await virshAt(h.uri, ['list', '--name'])).stdout.split('\n').includes(vmId);
  const [there, here] = await Promise.all([on(to), on(from)]);
  if (!there || here)
    throw new Error(`after the migration the domain runs on ${to.name}: ${there}, ${from.name}: ${here}`);
}

/**
 * `who` is 'strata' or 'native'; `ctx` holds rest, vmId, lunPath, the two hosts ({id, name,
 * uri}), the destination's network sources (native), unsafe and migrateUri.
 */
export async function sample(who, ctx, from, to) {
  const offsetBefore = await guestOffsetMs(ctx.vmId, from.uri);
  const watch = await watchRecords(ctx.lunPath);
  await sleep(1_000); // a second of normal writing before
  let m;
  let watched;
  try {
    m =
      who === 'strata'
        ? await strataMigrate(ctx.rest, ctx.vmId, to)
        : await nativeMigrate({
            domain: ctx.vmId,
            from: from.uri,
            to: to.uri,
            sources: ctx.sources.get(to.id),
            unsafe: ctx.unsafe,
            migrateUri: ctx.migrateUri,
          });
    await sleep(1_500); // and some after
  } finally {
    watched = await watch.stop();
  }
  await checkWhere(ctx.vmId, from, to);
  if (who === 'strata') {
    const vm = await ctx.rest.get(`/v1/vms/${ctx.vmId}`);
    if (vm.hostId !== to.id || vm.state !== 'Running')
      throw new Error(`Strata records the VM ${vm.state} on ${vm.hostId}, not Running on ${to.id}`);
  }
  // the destination's agent channel may take a moment: without an answer the clock loss is unknown
  let offsetAfter = NaN;
  for (let attempt = 0; attempt < 3 && Number.isNaN(offsetAfter); attempt++) {
    offsetAfter = await guestOffsetMs(ctx.vmId, to.uri).catch(() => NaN);
    if (Number.isNaN(offsetAfter)) await sleep(1_000);
  }
  const { t0, t1, ...extra } = m;
  // Strata: also the longest gap inside its migrate step alone (the agent's virsh migrate)
  if (who === 'strata')
    extra.stallInMigrateStepMs = stallOf(
      watched,
      t0 + m.stepAtMs['migrate'],
      t0 + (m.stepAtMs['confirm'] ?? t1 - t0),
    ).stallMs;
  return {
    who,
    from: from.name,
    to: to.name,
    totalMs: t1 - t0,
    ...stallOf(watched, t0, t1),
    // how much the guest's clock fell behind the host's across the migration (its pause)
    guestClockLostMs: offsetBefore - offsetAfter,
    polls: watched.polls,
    ...extra,
  };
}
