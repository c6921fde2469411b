import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { openDatabase, type Database } from '../db/index.js';
import { createJobEngine } from './engine.js';
import type { JobEngine } from './types.js';

// A wait is woken by this server's own finish or cancel, not by polling: the poll here is set to
// a minute, past every deadline below, so only the wake-up can end these waits in time.

let db: Database;
let engine: JobEngine;
let release: () => void = () => {};
/** Resolves once the held step runs (the job's row says Running a little before it does). */
let heldStarted: Promise<void>;
let markStarted: () => void = () => {};

before(async () => {
  db = await openDatabase('memory:');
  engine = createJobEngine({
    db,
    serverId: 'wake',
    pollMs: 20,
    waitPollMs: 60_000,
    logger: pino({ level: 'silent' }),
  });
  engine.register({
    type: 'test.held',
    steps: [
      {
        name: 'held',
        run: () =>
          new Promise((resolve) => {
            release = () => resolve({ released: true });
            markStarted();
          }),
      },
    ],
  });
  engine.register({ type: 'test.queued', steps: [{ name: 'never', run: () => Promise.resolve(null) }] });
});
after(async () => {
  release();
  await engine.stop();
  await db.close();
});

void test('a wait ends when this server finishes the job', async () => {
  heldStarted = new Promise((resolve) => (markStarted = resolve));
  engine.start();
  const job = await engine.submit('test.held', {}, { accountId: 'acc' });
  const waits = [engine.wait(job.id, 30_000), engine.wait(job.id, 30_000)];
  await heldStarted;
  const t0 = Date.now();
  release();
  for (const done of await Promise.all(waits)) assert.equal(done.state, 'Succeeded');
  assert.ok(Date.now() - t0 < 10_000, `woken after ${Date.now() - t0} ms`);
  await engine.stop();
});

void test('a wait ends when the job is cancelled here', async () => {
  // stopped: nothing claims the job, it stays queued until cancelled
  const job = await engine.submit('test.queued', {}, { accountId: 'acc' });
  const waiting = engine.wait(job.id, 30_000);
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  await engine.cancel(job.id);
  assert.equal((await waiting).state, 'Failed');
  assert.ok(Date.now() - t0 < 10_000, `woken after ${Date.now() - t0} ms`);
});
