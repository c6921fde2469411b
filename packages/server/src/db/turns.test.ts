import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDatabase } from './open.js';
import { turnTaking } from './turns.js';

test('queued work runs in arrival order, each piece in its own event-loop turn', async () => {
  const turn = turnTaking();
  const seen: string[] = [];
  // work that finishes in microtasks only, as a PGlite query does
  const work = (name: string) => () => Promise.resolve().then(() => void seen.push(name));
  const all = [turn(work('a')), turn(work('b')), turn(work('c'))];
  setImmediate(() => seen.push('io'));
  await Promise.all(all);
  // without turns: a b c io (the I/O callback waits for the whole queue)
  assert.deepEqual(seen, ['io', 'a', 'b', 'c']);
});

test('a failed piece does not stop the queue', async () => {
  const turn = turnTaking();
  await assert.rejects(
    turn(() => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.equal(await turn(() => Promise.resolve(7)), 7);
});

test('PGlite: the event loop gets a turn while queries are queued', async () => {
  const db = await openDatabase('memory:');
  try {
    let turns = 0;
    let done = false;
    const tick = (): void => {
      if (done) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    await Promise.all(Array.from({ length: 50 }, (_, i) => db.query('SELECT $1::int AS i', [i])));
    done = true;
    // without turns all 50 run in microtasks before the first tick
    assert.ok(turns >= 25, `only ${turns} event-loop turns during 50 queued queries`);
  } finally {
    await db.close();
  }
});
