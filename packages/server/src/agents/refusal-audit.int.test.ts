import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import {
  CHANNEL_PATH,
  CHANNEL_PROTOCOL_VERSION,
  decodeMessage,
  encodeMessage,
  type ChannelMessage,
  type HostFacts,
} from '@strata/core';
import type { Database } from '../db/index.js';
import { AuditLog } from '../services/audit.js';
import { SYSTEM_ACTOR } from '../services/index.js';
import type { AgentHub } from './hub.js';
import { startTestHub } from './testing/test-hub.js';
import { waitFor } from './testing/wait-for.js';

// Refused agent handshakes land in the audit trail, against a real hub (TLS on loopback, PGlite
// in memory): a registration with a token the server never issued and a hello with a wrong
// secret. Neither event holds the token or the secret the agent sent.
let db: Database;
let hub: AgentHub;
let dir: string;
const suffix = Math.random().toString(36).slice(2, 8);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-agent-audit-'));
  ({ db, hub } = await startTestHub({ dir, suffix, heartbeatMs: 1_000 }));
});

after(async () => {
  await hub.stop();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const facts = (hostname: string): HostFacts => ({
  hostname,
  address: '127.0.0.1',
  arch: 'x64',
  cpus: 1,
  memoryBytes: 1 << 30,
  libvirtVersion: '9.0.0',
  qemuVersion: '7.2.0',
  iscsiInitiator: null,
  adaptors: [],
  agentVersion: 'test',
});
const report = () => ({ at: new Date().toISOString(), domains: [], frozenGuests: [], blockJobs: [] });

/** Sends one first message and answers what the hub sent back before closing. */
async function firstAnswer(message: string): Promise<ChannelMessage> {
  const ws = new WebSocket(`wss://127.0.0.1:${hub.port}${CHANNEL_PATH}`, { rejectUnauthorized: false });
  ws.on('error', () => undefined);
  await once(ws, 'open');
  const answer = once(ws, 'message');
  ws.send(message);
  const [data] = (await answer) as [Buffer];
  ws.terminate();
  return decodeMessage(data.toString('utf8'));
}

test('a refused registration and a refused hello are audit events without the credential', async () => {
  const token = `strata-reg-forged-${suffix}`;
  const secret = `strata-host-wrong-${suffix}`;
  const refusedRegister = await firstAnswer(
    encodeMessage({
      kind: 'register',
      version: CHANNEL_PROTOCOL_VERSION,
      token,
      facts: facts(`h-forged-${suffix}`),
      report: report(),
      commands: [],
    }),
  );
  assert.equal(refusedRegister.kind, 'refused');
  const refusedHello = await firstAnswer(
    encodeMessage({
      kind: 'hello',
      version: CHANNEL_PROTOCOL_VERSION,
      hostId: `no-such-host-${suffix}`,
      secret,
      facts: facts(`h-hello-${suffix}`),
      report: report(),
      commands: [],
    }),
  );
  assert.equal(refusedHello.kind, 'refused');

  const audit = new AuditLog(db);
  const events = await waitFor('two agent.refused events', async () => {
    const page = await audit.list(SYSTEM_ACTOR, { kind: 'agent.refused' });
    return page.items.length >= 2 ? page.items : undefined;
  });
  assert.deepEqual(
    // recorded in the background: compare in a fixed order
    events.map((e) => [e.via, e.code, e.details['claimedHost']]).sort(),
    [
      ['agent-hello', 'AGENT_AUTH_FAILED', `no-such-host-${suffix}`],
      ['agent-registration', 'AGENT_REGISTRATION_REFUSED', `h-forged-${suffix}`],
    ],
  );
  for (const e of events) assert.match(e.remoteAddress ?? '', /127\.0\.0\.1/);
  const text = JSON.stringify(events);
  assert.ok(!text.includes(token) && !text.includes(secret), text);
});
