import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../db/database.js';
import { createTestTables } from './testing/test-jobs.js';
import { backends, engineOn } from './testing/suite.js';
import type { JobDefinition } from './types.js';

/**
 * A forward-only step (a VM snapshot's commit-back after its record): what ran before it is final,
 * so neither its failure nor its interruption undoes it, even in a type that compensates on
 * interruption. On the real journal (PGlite and PostgreSQL).
 */
for (const backend of backends) {
  void describe(`forward-only steps on ${backend.name}`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ db, cleanup } = await backend.open());
      await createTestTables(db);
    });
    after(async () => cleanup());

    const definition = (
      type: string,
      undone: string[],
      tail: JobDefinition['steps'][number],
    ): JobDefinition => ({
      type,
      onInterrupted: 'compensate',
      steps: [
        {
          name: 'take',
          run: () => Promise.resolve('taken'),
          compensate: () => (undone.push('take'), Promise.resolve()),
        },
        { name: 'record', transactional: true, run: () => Promise.resolve('recorded') },
        tail,
      ],
    });

    void test('a forward-only step that fails ends the job Failed with nothing undone', async () => {
      const undone: string[] = [];
      const def = definition(`fwd-fail-${backend.name}`, undone, {
        name: 'finish',
        forwardOnly: true,
        run: () => Promise.reject(new Error('commit refused')),
      });
      const engine = engineOn(db, 'ff', [def]);
      engine.start();
      try {
        const job = await engine.submit(def.type, {}, { accountId: 'acc' });
        const done = await engine.wait(job.id, 20_000);
        assert.equal(done.state, 'Failed');
        assert.match(done.error?.message ?? '', /commit refused/);
        assert.deepEqual(undone, [], 'the recorded take stays');
        const journal = await engine.steps(job.id);
        assert.deepEqual(
          journal.map((r) => `${r.phase}:${r.name}:${r.status}`),
          ['run:take:done', 'run:record:done', 'run:finish:failed'],
        );
      } finally {
        await engine.stop();
      }
    });

    void test('a forward-only step interrupted runs again on the next owner, in a type that compensates on interruption', async () => {
      const undone: string[] = [];
      let started = 0;
      const def = definition(`fwd-resume-${backend.name}`, undone, {
        name: 'finish',
        forwardOnly: true,
        // the first run waits until its server stops; the next owner's run finishes
        run: async (ctx) => {
          started++;
          if (started === 1) await sleep(600_000, undefined, { signal: ctx.signal }).catch(() => undefined);
          if (ctx.signal.aborted) throw new Error('stopped');
          return 'finished';
        },
      });
      const first = engineOn(db, 'fr1', [def]);
      first.start();
      const job = await first.submit(def.type, {}, { accountId: 'acc' });
      while (started === 0) await sleep(20);
      await first.stop();
      const second = engineOn(db, 'fr2', [def]);
      second.start();
      try {
        const done = await second.wait(job.id, 20_000);
        assert.equal(done.state, 'Succeeded', `ended ${done.state} ${done.error?.code ?? ''}`);
        assert.equal(done.result, 'finished');
        assert.equal(started, 2, 'the interrupted step ran again');
        assert.deepEqual(undone, []);
      } finally {
        await second.stop();
      }
    });
  });
}
