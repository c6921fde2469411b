import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CHANNEL_PATH } from '@strata/core';
import type { Database } from '../db/index.js';
import type { AgentHub } from './hub.js';
import { startAgentProcess, stopAgentProcess, type AgentProcess } from './testing/agent-process.js';
import { startTestHub } from './testing/test-hub.js';

// The agent's side of hub-stall: a busy agent must not mistake its own stall for the server's
// silence. A real hub (TLS on loopback, heartbeat 1 s) that gives up on an agent only after ten
// missed heartbeats, so only the agent's rule (silence across three on-time ticks) is under test,
// and a real fixture agent process, stopped with SIGSTOP as a long stall would stop it.
let db: Database;
let hub: AgentHub;
let dir: string;
let agent: AgentProcess | undefined;
const suffix = Math.random().toString(36).slice(2, 8);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-agent-stall-'));
  ({ db, hub } = await startTestHub({ dir, suffix, heartbeatMs: 1_000, missedHeartbeats: 10 }));
});

after(async () => {
  if (agent) await stopAgentProcess(agent);
  await hub.stop();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const busy = (ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end); // blocks this process (the hub's) event loop: the server falls silent
};

test("an agent that stalled past three heartbeats keeps its session; the server's real silence still makes it reconnect", async () => {
  const { token } = await hub.issueRegistrationToken(`cluster-${suffix}`, 60_000);
  const events: string[] = [];
  const connected = new Promise<string>((resolve) => {
    hub.onConnection((id, up) => {
      events.push(up ? 'up' : 'down');
      if (up) resolve(id);
    });
  });
  agent = startAgentProcess('fixture-agent', {
    STRATA_SERVER_URL: `wss://127.0.0.1:${hub.port}${CHANNEL_PATH}`,
    STRATA_SERVER_FINGERPRINT: hub.fingerprint,
    STRATA_REGISTRATION_TOKEN: token,
    STRATA_AGENT_STATE_DIR: join(dir, 'agent'),
    STRATA_FIXTURE_HOSTNAME: `host-agent-stall-${suffix}`,
  });
  await connected;
  await sleep(2_500); // heartbeats on time

  // Stopped for four periods: its first tick afterwards is late, so the silence it saw is its own.
  for (let i = 0; i < 2; i++) {
    agent.child.kill('SIGSTOP');
    await sleep(4_000);
    agent.child.kill('SIGCONT');
    await sleep(3_500);
  }
  assert.deepEqual(events, ['up'], 'the agent kept its session across two 4 s stalls of its own');
  assert.equal(hub.connectedCount(), 1);

  // The rule still bites: a server silent for eight periods (the agent waits six) is given up on.
  busy(8_000);
  const end = Date.now() + 20_000;
  while (events.length < 3 && Date.now() < end) await sleep(100);
  assert.deepEqual(events, ['up', 'down', 'up'], 'the agent dropped the silent server and reconnected');
});
