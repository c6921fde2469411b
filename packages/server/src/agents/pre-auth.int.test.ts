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
} from '@strata/core';
import type { Database } from '../db/index.js';
import type { AgentHub } from './hub.js';
import { startTestHub } from './testing/test-hub.js';
import { waitFor } from './testing/wait-for.js';

// Hostile clients of the agent channel before they authenticate, against a real hub (TLS on
// loopback, PGlite in memory): a flood of idle sockets and an oversize first frame. Meanwhile an
// authenticated agent (a WebSocket client speaking the protocol) keeps being answered.
let db: Database;
let hub: AgentHub;
let dir: string;
let clusterId = '';
const suffix = Math.random().toString(36).slice(2, 8);
const HELLO_TIMEOUT_MS = 1_500;
const PER_ADDRESS = 16;
const opened: WebSocket[] = [];
const timers: NodeJS.Timeout[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-preauth-'));
  ({ db, hub, clusterId } = await startTestHub({
    dir,
    suffix,
    heartbeatMs: 1_000,
    preAuth: { helloTimeoutMs: HELLO_TIMEOUT_MS, maxPendingPerAddress: PER_ADDRESS },
  }));
});

after(async () => {
  for (const t of timers) clearInterval(t);
  for (const ws of opened) ws.terminate();
  await hub.stop();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const url = () => `wss://127.0.0.1:${hub.port}${CHANNEL_PATH}`;

function connect(): WebSocket {
  const ws = new WebSocket(url(), { rejectUnauthorized: false, maxPayload: 64 * 1024 * 1024 });
  ws.on('error', () => undefined);
  opened.push(ws);
  return ws;
}

/** An agent that registers with a token and answers nothing but what the test sends. */
async function authenticatedAgent(
  name: string,
): Promise<{ ws: WebSocket; next: () => Promise<ChannelMessage> }> {
  const { token } = await hub.issueRegistrationToken(clusterId, 60_000);
  const ws = connect();
  const inbox: ChannelMessage[] = [];
  const waiters: Array<(m: ChannelMessage) => void> = [];
  ws.on('message', (data: Buffer) => {
    const m = decodeMessage(data.toString('utf8'));
    const w = waiters.shift();
    if (w) w(m);
    else inbox.push(m);
  });
  const next = () =>
    new Promise<ChannelMessage>((resolve, reject) => {
      const m = inbox.shift();
      if (m) return resolve(m);
      const t = setTimeout(() => reject(new Error('no message within 5 s')), 5_000);
      waiters.push((x) => (clearTimeout(t), resolve(x)));
    });
  await once(ws, 'open');
  ws.send(
    encodeMessage({
      kind: 'register',
      version: CHANNEL_PROTOCOL_VERSION,
      token,
      facts: {
        hostname: name,
        address: '127.0.0.1',
        arch: 'x64',
        cpus: 1,
        memoryBytes: 1 << 30,
        libvirtVersion: '9.0.0',
        qemuVersion: '7.2.0',
        iscsiInitiator: null,
        adaptors: [],
        agentVersion: 'test',
      },
      report: { at: new Date().toISOString(), domains: [], frozenGuests: [], blockJobs: [] },
      commands: [],
    }),
  );
  const welcome = await next();
  assert.equal(welcome.kind, 'welcome', JSON.stringify(welcome));
  // as a real agent does: silence past three heartbeats ends the session
  const beat = setInterval(() => {
    if (ws.readyState === WebSocket.OPEN)
      ws.send(encodeMessage({ kind: 'heartbeat', at: new Date().toISOString() }));
  }, 200);
  ws.once('close', () => clearInterval(beat));
  timers.push(beat);
  return { ws, next };
}

/** A heartbeat answered: the hub still serves this agent. */
async function answered(agent: { ws: WebSocket; next: () => Promise<ChannelMessage> }, pad = 0) {
  const started = Date.now();
  agent.ws.send(JSON.stringify({ kind: 'heartbeat', at: new Date().toISOString(), pad: 'x'.repeat(pad) }));
  for (;;) {
    const m = await agent.next();
    if (m.kind === 'heartbeat') return Date.now() - started;
  }
}

test('300 idle sockets: at most the per-address cap stay open, all close after the hello timeout, the agent is served', async () => {
  const agent = await authenticatedAgent(`h-flood-${suffix}`);
  const flood = Array.from({ length: 300 }, () => connect());
  const settled = await Promise.all(
    flood.map(
      (ws) =>
        new Promise<'open' | 'closed'>((resolve) => {
          ws.once('open', () => resolve('open'));
          ws.once('close', () => resolve('closed'));
        }),
    ),
  );
  // TLS handshakes of 300 sockets take seconds here: the hello timeout frees slots meanwhile, so
  // some more than the cap get in over the whole flood, but never more than the cap at once.
  const admitted = settled.filter((s) => s === 'open').length;
  assert.ok(admitted < 150, `${admitted} of 300 admitted`);
  assert.equal(hub.preAuth.refused, 300 - admitted);
  assert.ok(hub.preAuth.peak <= PER_ADDRESS, `${hub.preAuth.peak} unauthenticated sockets at once`);
  assert.ok(hub.preAuth.pendingCount() <= PER_ADDRESS);
  // the authenticated agent is answered during the flood, and may send large frames
  assert.ok((await answered(agent)) < 2_000);
  assert.ok((await answered(agent, 4 * 1024 * 1024)) < 5_000, 'a 4 MiB frame after authentication');
  // the idle ones are closed by the hello timeout, freeing the slots
  await waitFor('idle sockets closed', () =>
    flood.every((ws) => ws.readyState === WebSocket.CLOSED) ? true : undefined,
  );
  assert.equal(hub.preAuth.pendingCount(), 0);
  // and a new agent registers again
  const late = await authenticatedAgent(`h-after-${suffix}`);
  assert.ok((await answered(late)) < 2_000);
  assert.ok((await answered(agent)) < 2_000);
});

test('an oversize first frame is refused at its header (1009), not read whole', async () => {
  const agent = await authenticatedAgent(`h-big-${suffix}`);
  const ws = connect();
  await once(ws, 'open');
  const started = Date.now();
  const closed = once(ws, 'close') as Promise<[number, Buffer]>;
  ws.send(Buffer.alloc(16 * 1024 * 1024, 0x20));
  const [code] = await closed;
  assert.equal(code, 1009, 'message too big');
  assert.ok(Date.now() - started < 3_000);
  assert.ok((await answered(agent)) < 2_000);
});
