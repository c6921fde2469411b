import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import {
  CHANNEL_PATH,
  CloseCode,
  isStrataError,
  type AgentStateReport,
  type EventMessage,
} from '@strata/core';
import type { Database } from '../db/index.js';
import { EventService } from '../services/events.js';
import { VmService } from '../services/vms.js';
import { HostStore } from './host-store.js';
import { vmReconciler } from './vm-reconciler.js';
import { AgentHub, type ReconcileContext } from './hub.js';
import { startAgentProcess, stopAgentProcess, type AgentProcess } from './testing/agent-process.js';
import { startTestHub } from './testing/test-hub.js';
import { waitFor } from './testing/wait-for.js';

// A real hub (TLS on loopback, PGlite in memory) and real agent processes (the fixture agent:
// AgentChannel with scripted handlers and a state report the test rewrites).
let db: Database;
let hub: AgentHub;
let dir: string;
const agents: AgentProcess[] = [];
const suffix = Math.random().toString(36).slice(2, 8);
const clusterId = `cluster-${suffix}`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-channel-'));
  ({ db, hub } = await startTestHub({ dir, suffix, heartbeatMs: 500 }));
});

after(async () => {
  for (const a of agents) await stopAgentProcess(a);
  await hub.stop();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const url = () => `wss://127.0.0.1:${hub.port}${CHANNEL_PATH}`;

async function hostRow(id: string) {
  const [row] = await db.query<{ state: string; credential_hash: string; name: string; cpus: number }>(
    'SELECT state, credential_hash, name, cpus FROM hosts WHERE id = $1',
    [id],
  );
  return row;
}

function agent(env: Record<string, string>): AgentProcess {
  const proc = startAgentProcess('fixture-agent', {
    STRATA_SERVER_URL: url(),
    STRATA_SERVER_FINGERPRINT: hub.fingerprint,
    ...env,
  });
  agents.push(proc);
  return proc;
}

function report(
  domains: Array<[string, AgentStateReport['domains'][number]['state']]>,
  frozen: string[] = [],
): AgentStateReport {
  return {
    at: new Date().toISOString(),
    domains: domains.map(([name, state]) => ({ name, uuid: '', state, disks: [] })),
    frozenGuests: frozen.map((vm) => ({
      vm,
      frozenAt: new Date().toISOString(),
      deadlineAt: new Date().toISOString(),
    })),
    blockJobs: [],
  };
}

let hostId = '';
let main: AgentProcess;
let stateDir = '';
let reportFile = '';

test('registration: a one-time token gives the host a row (Up) and per-host credentials kept 0600', async () => {
  const { token, fingerprint } = await hub.issueRegistrationToken(clusterId, 60_000);
  assert.equal(fingerprint, hub.fingerprint);
  stateDir = join(dir, 'agent-a');
  reportFile = join(dir, 'report-a.json');
  await writeFile(reportFile, JSON.stringify(report([['vm-a', 'running']])));
  const connected = new Promise<string>((resolve) => {
    const off = hub.onConnection((id, up) => up && (off(), resolve(id)));
  });
  main = agent({
    STRATA_REGISTRATION_TOKEN: token,
    STRATA_AGENT_STATE_DIR: stateDir,
    STRATA_FIXTURE_REPORT: reportFile,
    STRATA_FIXTURE_HOSTNAME: `host-a-${suffix}`,
  });
  hostId = await connected;
  const row = await waitFor('host Up', async () =>
    (await hostRow(hostId))?.state === 'Up' ? hostRow(hostId) : undefined,
  );
  assert.equal(row?.name, `host-a-${suffix}`);
  assert.ok((row?.cpus ?? 0) > 0, 'facts stored');

  const credsPath = join(stateDir, 'credentials.json');
  const creds = await waitFor('credentials file', () =>
    readFile(credsPath, 'utf8').then(
      (t) => JSON.parse(t) as { hostId: string; secret: string },
      () => undefined,
    ),
  );
  assert.equal((await stat(credsPath)).mode & 0o777, 0o600);
  assert.equal(creds.hostId, hostId);
  assert.equal(
    row?.credential_hash,
    createHash('sha256').update(creds.secret).digest('hex'),
    'only the hash is stored',
  );
  assert.equal(hub.connectedCount(), 1);

  // the agent's first message after its welcome confirms it holds the credential: from then on
  // not even the same host name may spend the token again
  await waitFor('the welcome confirmed', async () => {
    const [t] = await db.query<{ confirmed_at: string | null }>(
      'SELECT confirmed_at FROM host_registration_tokens WHERE host_id = $1',
      [hostId],
    );
    return t?.confirmed_at ? true : undefined;
  });
  const replay = agent({
    STRATA_REGISTRATION_TOKEN: token,
    STRATA_AGENT_STATE_DIR: join(dir, 'agent-a-again'),
    STRATA_FIXTURE_HOSTNAME: `host-a-${suffix}`,
  });
  assert.equal(await replay.exited, 78);
  assert.match(replay.stderr, /already used/);

  // the same token again: refused, the second agent gives up with its coded error
  const second = agent({
    STRATA_REGISTRATION_TOKEN: token,
    STRATA_AGENT_STATE_DIR: join(dir, 'agent-b'),
    STRATA_FIXTURE_HOSTNAME: `host-b-${suffix}`,
  });
  assert.equal(await second.exited, 78);
  assert.match(second.stderr, /AGENT_REGISTRATION_REFUSED/);
  assert.match(second.stderr, /already used/);
});

test('commands: round trip with ids, TIMEOUT past the deadline, unknown command and absent host coded', async () => {
  const pong = await hub.send(hostId, 'agent.ping', {});
  assert.equal(pong.pid, main.child.pid);
  const state = await hub.send(hostId, 'vm.state', { vm: 'vm-a' });
  assert.equal(state.state, 'running');
  // several at once: each answer finds its own request
  const many = await Promise.all(['vm-a', 'nope', 'vm-a'].map((vm) => hub.send(hostId, 'vm.state', { vm })));
  assert.deepEqual(
    many.map((s) => s.state),
    ['running', 'unknown', 'running'],
  );

  const started = Date.now();
  await assert.rejects(hub.send(hostId, 'vm.start', { vm: 'vm-a' }, { timeoutMs: 300 }), (e) =>
    isStrataError(e, 'TIMEOUT'),
  );
  assert.ok(Date.now() - started < 2_000);
  await assert.rejects(hub.send(hostId, 'iotune.get', { vm: 'vm-a', target: 'vda' }), (e) =>
    isStrataError(e, 'AGENT_UNKNOWN_COMMAND'),
  );
  await assert.rejects(hub.send('no-such-host', 'agent.ping', {}), (e) => isStrataError(e, 'UNAVAILABLE'));
  // the channel still works after all that
  assert.equal((await hub.send(hostId, 'agent.ping', {})).pid, main.child.pid);
});

test('protocol violations are refused with a coded error and a close code', async () => {
  const exchange = (first: string) =>
    new Promise<{ refused: { code: string }; code: number }>((resolve, reject) => {
      const ws = new WebSocket(url(), { rejectUnauthorized: false });
      let refused: { code: string } | undefined;
      ws.on('open', () => ws.send(first));
      ws.on('message', (d: Buffer) => {
        const m = JSON.parse(d.toString()) as { kind: string; error: { code: string } };
        if (m.kind === 'refused') refused = m.error;
      });
      ws.on('close', (code) =>
        refused ? resolve({ refused, code }) : reject(new Error(`closed ${code} without refusal`)),
      );
      ws.on('error', reject);
    });
  const garbage = await exchange('not json');
  assert.deepEqual([garbage.refused.code, garbage.code], ['INVALID_ARGUMENT', CloseCode.ProtocolError]);
  const early = await exchange(JSON.stringify({ kind: 'heartbeat', at: 'now' }));
  assert.deepEqual([early.refused.code, early.code], ['INVALID_ARGUMENT', CloseCode.Refused]);
  const future = await exchange(
    JSON.stringify({ kind: 'hello', version: 99, hostId, secret: 'x', facts: {}, report: {}, commands: [] }),
  );
  assert.deepEqual([future.refused.code, future.code], ['AGENT_PROTOCOL_MISMATCH', CloseCode.Refused]);
  assert.equal((await hostRow(hostId))?.state, 'Up', 'the real agent is unaffected');
});

test('events from the agent reach subscribers', async () => {
  const seen: EventMessage[] = [];
  const off = hub.onEvent((id, e) => id === hostId && seen.push(e));
  // the fixture emits a lifecycle event on every connection: reconnect it by restarting the process
  await stopAgentProcess(main);
  await waitFor('Disconnected', async () =>
    (await hostRow(hostId))?.state === 'Disconnected' ? true : undefined,
  );
  main = agent({ STRATA_AGENT_STATE_DIR: stateDir, STRATA_FIXTURE_REPORT: reportFile });
  const event = await waitFor('lifecycle event', () => seen.find((e) => e.type === 'vm.lifecycle'));
  off();
  assert.equal(event.type, 'vm.lifecycle');
  assert.match((event.payload as { detail: string }).detail, new RegExp(`pid ${main.child.pid}`));
  assert.equal((await hostRow(hostId))?.state, 'Up', 'authenticated reconnect with the stored credentials');
});

test('heartbeat loss marks the host Disconnected; the agent reconnects, reports, and the server reconciles', async () => {
  const reconciled: ReconcileContext[] = [];
  const off = hub.onReconcile((ctx) => void reconciled.push(ctx));
  main.child.kill('SIGSTOP'); // the socket stays open but the agent falls silent
  await waitFor('Disconnected after missed heartbeats', async () =>
    (await hostRow(hostId))?.state === 'Disconnected' ? true : undefined,
  );
  assert.equal(hub.isConnected(hostId), false);
  await assert.rejects(hub.send(hostId, 'agent.ping', {}), (e) => isStrataError(e, 'UNAVAILABLE'));

  // while it was away its VM stopped and a guest froze
  await writeFile(
    reportFile,
    JSON.stringify(
      report(
        [
          ['vm-a', 'shut off'],
          ['vm-b', 'running'],
        ],
        ['vm-b'],
      ),
    ),
  );
  main.child.kill('SIGCONT');
  const ctx = await waitFor('reconcile on reconnect', () =>
    reconciled.find((c) => c.hostId === hostId && c.onConnect),
  );
  off();
  assert.equal((await hostRow(hostId))?.state, 'Up');
  const kinds = ctx.differences.map((d) => `${d.kind}:${d.vm}`).sort();
  assert.deepEqual(kinds, ['domain-appeared:vm-b', 'domain-state:vm-a', 'guest-frozen:vm-b']);
  const events = await db.query<{ description: string }>(
    `SELECT description FROM events WHERE resource_id = $1 AND type = 'HOST.RECONCILE' ORDER BY id`,
    [hostId],
  );
  assert.ok(events.some((e) => e.description === 'domain vm-a running → shut off'));
  const states = await db.query<{ type: string }>(
    `SELECT type FROM events WHERE resource_id = $1 ORDER BY id`,
    [hostId],
  );
  assert.ok(states.some((e) => e.type === 'HOST.DISCONNECTED') && states.some((e) => e.type === 'HOST.UP'));
  assert.equal((await hub.send(hostId, 'agent.ping', {})).pid, main.child.pid);
});

test('a wrong secret is refused with AGENT_AUTH_FAILED and the host stays as it was', async () => {
  const wrongDir = join(dir, 'agent-wrong');
  const { saveCredentials } = await import('@strata/agent/channel/credentials-file');
  await saveCredentials(join(wrongDir, 'credentials.json'), { hostId, secret: 'strata-host_not-the-secret' });
  const proc = agent({ STRATA_AGENT_STATE_DIR: wrongDir });
  assert.equal(await proc.exited, 78);
  assert.match(proc.stderr, /AGENT_AUTH_FAILED/);
  assert.equal(hub.isConnected(hostId), true, 'the real agent keeps its connection');
  assert.equal((await hostRow(hostId))?.state, 'Up');
});

test('a server certificate that does not match the pinned fingerprint is refused before any secret is sent', async () => {
  const proc = startAgentProcess('fixture-agent', {
    STRATA_SERVER_URL: url(),
    STRATA_SERVER_FINGERPRINT: 'AA:'.repeat(31) + 'AA',
    STRATA_AGENT_STATE_DIR: stateDir, // real credentials: they must not be sent
  });
  agents.push(proc);
  assert.equal(await proc.exited, 78);
  assert.match(proc.stderr, /AGENT_FINGERPRINT_MISMATCH/);
  // had it sent its hello, the server would have replaced the real agent's connection with it
  // and the real agent would have stopped (see the duplicate-credentials test below)
  assert.equal(main.child.exitCode, null, 'the real agent was never replaced');
  assert.equal((await hub.send(hostId, 'agent.ping', {})).pid, main.child.pid);
});

test('the server keeps its certificate across restarts and agents reconnect to the new instance', async () => {
  const port = hub.port;
  const fingerprint = hub.fingerprint;
  await hub.stop();
  await waitFor('Disconnected on server stop', async () =>
    (await hostRow(hostId))?.state === 'Disconnected' ? true : undefined,
  );
  hub = await AgentHub.start({ db, dataDir: join(dir, 'server'), host: '127.0.0.1', port, heartbeatMs: 500 });
  assert.equal(hub.fingerprint, fingerprint);
  await waitFor('agent back', () => (hub.isConnected(hostId) ? true : undefined));
  assert.equal((await hub.send(hostId, 'agent.ping', {})).pid, main.child.pid);
  assert.equal((await hostRow(hostId))?.state, 'Up');
});

test('a second agent with the same credentials takes over; the replaced one stops instead of fighting back', async () => {
  const copyDir = join(dir, 'agent-copy');
  const { loadCredentials, saveCredentials } = await import('@strata/agent/channel/credentials-file');
  const creds = await loadCredentials(join(stateDir, 'credentials.json'));
  assert.ok(creds);
  await saveCredentials(join(copyDir, 'credentials.json'), creds);
  const copy = agent({ STRATA_AGENT_STATE_DIR: copyDir, STRATA_FIXTURE_REPORT: reportFile });
  assert.equal(await main.exited, 78, 'the replaced agent gives up');
  assert.match(main.stderr, /AGENT_AUTH_FAILED/);
  assert.match(main.stderr, /same host credentials/);
  await waitFor('copy connected', async () =>
    (await hub.send(hostId, 'agent.ping', {}).catch(() => undefined))?.pid === copy.child.pid
      ? true
      : undefined,
  );
  assert.equal(hub.connectedCount(), 1);
});

test('a host left Up by a server that died is marked Disconnected by any running server', async () => {
  const { hostId: orphan } = await new HostStore(db).register(
    (await hub.issueRegistrationToken(clusterId)).token,
    {
      hostname: `orphan-${suffix}`,
      address: '127.0.0.1',
      arch: 'x64',
      cpus: 1,
      memoryBytes: 1,
      libvirtVersion: '',
      qemuVersion: '',
      iscsiInitiator: null,
      adaptors: [],
      agentVersion: 'test',
    },
  );
  // as a SIGKILLed server leaves it: Up, last heard from long ago, connected to nobody here
  await db.query(`UPDATE hosts SET state = 'Up', last_seen_at = now() - interval '1 hour' WHERE id = $1`, [
    orphan,
  ]);
  await waitFor('orphan Disconnected', async () =>
    (await hostRow(orphan))?.state === 'Disconnected' ? true : undefined,
  );
  assert.equal((await hostRow(hostId))?.state, 'Up', 'a connected host is untouched');
});

test('on reconnect the VM reconciler brings VM rows in line with what the host really runs', async () => {
  const vmId = `vm-r-${suffix}`;
  await db.query(`INSERT INTO accounts (id, name, role) VALUES ($1, $1, 'user')`, [`acct-${suffix}`]);
  await db.query(
    `INSERT INTO vms (id, account_id, name, state, host_id, cpus, memory_bytes) VALUES ($1, $2, 'web', 'Running', $3, 1, 1)`,
    [vmId, `acct-${suffix}`, hostId],
  );
  // while the server is away the VM's domain shuts off
  await writeFile(reportFile, JSON.stringify(report([[vmId, 'shut off']])));
  const port = hub.port;
  await hub.stop();
  hub = await AgentHub.start({ db, dataDir: join(dir, 'server'), host: '127.0.0.1', port, heartbeatMs: 500 });
  hub.onReconcile(vmReconciler(new VmService(db, new EventService(db))));
  await waitFor('VM row Stopped', async () => {
    const [row] = await db.query<{ state: string }>('SELECT state FROM vms WHERE id = $1', [vmId]);
    return row?.state === 'Stopped' ? true : undefined;
  });
});
