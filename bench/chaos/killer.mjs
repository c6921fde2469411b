// The chaos run's killer: at random moments, bounded in count and time, SIGKILLs one of the
// server, every agent, this run's own tgtd or (asked for) the Ceph OSD, and starts it again as a
// service manager would.
import { setTimeout as sleep } from 'node:timers/promises';
import { restartOsd } from '../../packages/testing/dist/index.js';

/**
 * Each victim: its name and how to kill it and bring it back. The Ceph OSD only when asked
 * (`--osd`): the machine's single OSD serves every test's images, so a run that restarts it must
 * be alone on the machine.
 */
export function victims(cx, tgtd, { osd = false } = {}) {
  return {
    ...(osd && cx.backends.ceph && { osd: () => restartOsd(cx.backends.ceph) }),
    server: async () => void (await cx.restartServer()),
    agents: async () => {
      cx.killAgent();
      await sleep(1000);
      await cx.startAgent();
    },
    tgtd: async () => {
      await tgtd.kill();
      await sleep(2000);
      await tgtd.restart();
    },
  };
}

/**
 * Runs until `deadline` or `maxKills`: waits a random 5..25 s, kills the next victim of a shuffled
 * round (so that every victim dies once before any dies twice). Returns what it did, in order.
 */
export async function runKiller(all, { deadline, maxKills, log, random = Math.random }) {
  const done = [];
  let round = [];
  while (done.length < maxKills) {
    const wait = 5_000 + Math.floor(random() * 20_000);
    if (Date.now() + wait > deadline) break;
    await sleep(wait);
    if (round.length === 0) round = Object.keys(all).sort(() => random() - 0.5);
    const name = round.shift();
    const at = new Date().toISOString();
    try {
      await all[name]();
      done.push({ victim: name, at });
      log(`killed and restarted ${name}`);
    } catch (e) {
      done.push({ victim: name, at, error: String(e?.message ?? e) });
      log(`killing ${name} failed: ${e?.message ?? e}`);
    }
  }
  return done;
}
