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

// A busy server must not mistake its own stall for its agents' silence. A real hub (TLS on
// loopback) and a real fixture agent process; the hub judges a session lost after one missed
// heartbeat (2 s), and its event loop is then blocked for 2.5 s: the agent's heartbeats wait
// unread on the socket meanwhile. The agent itself, not blocked, waits six periods (12 s)
// before it gives up on the server, so only the hub's rule is under test.
let db: Database;
let hub: AgentHub;
let dir: string;
let agent: AgentProcess | undefined;
const suffix = Math.random().toString(36).slice(2, 8);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-hub-stall-'));
  ({ db, hub } = await startTestHub({ dir, suffix, heartbeatMs: 2_000, missedHeartbeats: 1 }));
});

after(async () => {
  if (agent) await stopAgentProcess(agent);
  await hub.stop();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const busy = (ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end); // blocks this process's event loop, as a long synchronous burst would
};

test('a hub whose event loop stalled past the heartbeat window keeps its agents; a real silence still drops', async () => {
  const { token } = await hub.issueRegistrationToken(`cluster-${suffix}`, 60_000);
  const drops: string[] = [];
  const connected = new Promise<string>((resolve) => {
    hub.onConnection((id, up) => (up ? resolve(id) : drops.push(id)));
  });
  agent = startAgentProcess('fixture-agent', {
    STRATA_SERVER_URL: `wss://127.0.0.1:${hub.port}${CHANNEL_PATH}`,
    STRATA_SERVER_FINGERPRINT: hub.fingerprint,
    STRATA_REGISTRATION_TOKEN: token,
    STRATA_AGENT_STATE_DIR: join(dir, 'agent'),
    STRATA_FIXTURE_HOSTNAME: `host-stall-${suffix}`,
  });
  const hostId = await connected;
  await new Promise((r) => setTimeout(r, 3_000)); // heartbeats on time
  for (let i = 0; i < 3; i++) {
    busy(2_500);
    await new Promise((r) => setTimeout(r, 2_500));
  }
  assert.equal(drops.length, 0, 'no session dropped across three 2.5 s stalls of the hub');
  assert.equal(hub.connectedCount(), 1);

  // the rule still bites: an agent that really stops answering (SIGSTOP) is dropped
  agent.child.kill('SIGSTOP');
  try {
    const end = Date.now() + 10_000;
    while (!drops.includes(hostId) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(drops, [hostId], 'a stopped agent is dropped within a few heartbeats');
  } finally {
    agent.child.kill('SIGCONT');
  }
});
