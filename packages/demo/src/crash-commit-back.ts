import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { domblklist, invariantProblems, waitJobEnd } from './crash-checks.js';
import type { CrashEnv } from './crash-env.js';
import type { Accepted, JobView, Page } from './rest.js';
import type { SnapshotView } from './story.js';

const CREATE = 'vm-snapshot.create';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface StepView {
  readonly name: string;
  readonly phase: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 300_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * A VM snapshot is Ready before its transient overlays are committed back, and the VM's next job
 * waits for the commit-back. The create is held (the server's hold hook) at the start of its
 * commit-back step: there the snapshot must already be Ready while the domain still runs its
 * network disks on the transient overlays, and a second snapshot of the VM must stay Queued. Once
 * the hold is lifted, the order the journal recorded says the same: the second job began only
 * after the first one's commit-back ended. Answers lines for the test's diagnostics.
 */
export async function readyBeforeCommitBack(
  cx: CrashEnv,
  vmId: string,
  take: (name: string) => Promise<Accepted<SnapshotView>>,
): Promise<string[]> {
  const rest = cx.env.rest;
  const uri = await cx.uriOf(vmId);
  const volumes = (
    await rest.get<Page<{ deviceName: string | null; backendRef: string | null; poolId: string }>>(
      '/v1/volumes',
      { vmId },
    )
  ).items;
  await rm(`${cx.holdFile}.held`, { force: true });
  await writeFile(cx.holdFile, `${CREATE}:commit-back:before\n`);
  try {
    const first = await take('ready before its commit-back');
    await until('the create to reach its commit-back', async () => {
      if (existsSync(`${cx.holdFile}.held`)) return true;
      const j = await rest.get<JobView>(`/v1/jobs/${first.job.id}`);
      if (j.state === 'Succeeded' || j.state === 'Failed')
        throw new Error(`the create ended ${j.state} before its commit-back`);
      return false;
    });
    const held = await rest.get<SnapshotView>(`/v1/vm-snapshots/${first.resource.id}`);
    assert.equal(held.state, 'Ready', 'the snapshot is Ready before the commit-back runs');
    assert.equal((await rest.get<JobView>(`/v1/jobs/${first.job.id}`)).state, 'Running');
    const live = await domblklist(vmId, uri);
    const onOverlay = volumes.filter((v) => v.deviceName && live.get(v.deviceName) !== v.backendRef);
    assert.ok(onOverlay.length > 0, 'the network disks still run on their transient overlays');

    const second = await take('after the commit-back');
    // The hold is in force (its file is there): the VM's lock keeps the next job queued however long.
    await sleep(2_000);
    assert.equal(
      (await rest.get<JobView>(`/v1/jobs/${second.job.id}`)).state,
      'Queued',
      'the next job waits',
    );
    await rm(cx.holdFile, { force: true });

    const firstEnd = await waitJobEnd(rest, first.job.id);
    const secondEnd = await waitJobEnd(rest, second.job.id);
    assert.equal(firstEnd.state, 'Succeeded', JSON.stringify(firstEnd.error));
    assert.equal(secondEnd.state, 'Succeeded', JSON.stringify(secondEnd.error));
    const steps = async (id: string) =>
      (await rest.get<StepView[]>(`/v1/jobs/${id}/steps`)).filter((s) => s.phase === 'run');
    const a = await steps(first.job.id);
    const b = await steps(second.job.id);
    const record = a.find((s) => s.name === 'record');
    const commitBack = a.find((s) => s.name === 'commit-back');
    assert.ok(record?.finishedAt && commitBack?.finishedAt, a.map((s) => s.name).join(', '));
    assert.ok(
      Date.parse(record.finishedAt) <= Date.parse(commitBack.startedAt),
      'Ready was recorded before the commit-back',
    );
    const secondStart = Math.min(...b.map((s) => Date.parse(s.startedAt)));
    assert.ok(
      secondStart >= Date.parse(commitBack.finishedAt),
      `the next job began (${new Date(secondStart).toISOString()}) after the commit-back ended (${commitBack.finishedAt})`,
    );
    assert.deepEqual(
      await invariantProblems(cx, vmId),
      [],
      'every disk back on its volume after the commit-back',
    );
    return [
      `held at commit-back: snapshot Ready, ${onOverlay.length} disks on transient overlays, next job Queued`,
      `record done ${record.finishedAt}, commit-back ${commitBack.startedAt}..${commitBack.finishedAt}, next job from ${new Date(secondStart).toISOString()}`,
    ];
  } finally {
    await rm(cx.holdFile, { force: true });
    await rm(`${cx.holdFile}.held`, { force: true });
  }
}
