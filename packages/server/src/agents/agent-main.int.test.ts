import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CHANNEL_PATH, isStrataError, type EventMessage } from '@strata/core';
import { ensureLibvirt } from '@strata/testing';
import type { Database } from '../db/index.js';
import type { AgentHub, ReconcileContext } from './hub.js';
import { startAgentProcess, stopAgentProcess, type AgentProcess } from './testing/agent-process.js';
import { startTestHub } from './testing/test-hub.js';
import { waitFor } from './testing/wait-for.js';

// The shipped agent entry (main.js) against a real libvirtd: it registers with facts read from
// libvirt and answers host.facts / host.report / vm.list through virsh.
let db: Database;
let hub: AgentHub;
let dir: string;
let proc: AgentProcess | undefined;
let hostId = '';
const run = promisify(execFile);
const suffix = Math.random().toString(36).slice(2, 8);

before(async () => {
  await ensureLibvirt();
  dir = await mkdtemp(join(tmpdir(), 'strata-agent-main-'));
  ({ db, hub } = await startTestHub({ dir, suffix, heartbeatMs: 2_000 }));
});

after(async () => {
  if (proc) await stopAgentProcess(proc);
  await hub.stop();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

test('the agent process registers with real libvirt facts and answers commands through the KVM core, streaming libvirt events', async () => {
  const { token, fingerprint } = await hub.issueRegistrationToken(`cluster-${suffix}`);
  const connected = new Promise<string>((resolve) => hub.onConnection((id, up) => up && resolve(id)));
  proc = startAgentProcess('main', {
    STRATA_SERVER_URL: `wss://127.0.0.1:${hub.port}${CHANNEL_PATH}`,
    STRATA_SERVER_FINGERPRINT: fingerprint,
    STRATA_REGISTRATION_TOKEN: token,
    STRATA_AGENT_STATE_DIR: join(dir, 'agent'),
    STRATA_AGENT_INITIATOR_FILE: join(dir, 'agent', 'initiatorname.iscsi'),
  });
  hostId = await connected;
  const facts = await hub.send(hostId, 'host.facts', {});
  assert.match(facts.libvirtVersion, /^\d+\.\d+\.\d+$/, 'libvirt version read from libvirtd');
  assert.match(facts.qemuVersion, /^\d+\.\d+/, 'QEMU version read from libvirtd');
  assert.ok(facts.adaptors.includes('file'));
  assert.match(facts.iscsiInitiator ?? '', /^iqn\./, 'an initiator name, kept in the configured file');
  const [row] = await db.query<{ libvirt_version: string; state: string }>(
    'SELECT libvirt_version, state FROM hosts WHERE id = $1',
    [hostId],
  );
  assert.equal(row?.libvirt_version, facts.libvirtVersion, 'registration stored the same facts');
  assert.equal(row?.state, 'Up');

  const listed = await hub.send(hostId, 'vm.list', {});
  const report = await hub.send(hostId, 'host.report', {});
  assert.deepEqual(listed.domains.map((d) => d.name).sort(), report.domains.map((d) => d.name).sort());
  for (const d of listed.domains) assert.ok(d.state.length > 0);

  // Commands reach the KVM core and libvirt's own events come back: define and destroy a domain
  // whose name is full of XML and shell metacharacters.
  const events: EventMessage[] = [];
  const reconciled: ReconcileContext[] = [];
  hub.onEvent((id, e) => id === hostId && events.push(e));
  hub.onReconcile((ctx) => void reconciled.push(ctx));
  const vm = `strata-chan-${suffix} <a href="x">&'$;\`b\``;
  const defined = await hub.send(hostId, 'vm.define', {
    name: vm,
    cpus: 1,
    memoryBytes: 128 * 1024 * 1024,
    disks: [],
  });
  assert.equal(defined.name, vm);
  try {
    const lifecycle = await waitFor('Defined event', () =>
      events.find((e) => e.type === 'vm.lifecycle' && (e.payload as { vm: string }).vm === vm),
    );
    assert.match((lifecycle.payload as { event: string }).event, /Defined/);
    // the agent follows a lifecycle change with a fresh report: the server sees the new domain
    const seen = await waitFor('report with the new domain', () =>
      reconciled.find((c) => c.differences.some((d) => d.kind === 'domain-appeared' && d.vm === vm)),
    );
    assert.equal(seen.onConnect, false);
    assert.equal((await hub.send(hostId, 'vm.state', { vm })).state, 'shut off');
  } finally {
    const destroyed = await hub.send(hostId, 'vm.destroy', { vm });
    assert.equal(destroyed.existed, true);
  }
  await waitFor('Undefined event', () =>
    events.find(
      (e) => e.type === 'vm.lifecycle' && (e.payload as { vm: string; event: string }).event === 'Undefined',
    ),
  );
});

test('vm.pause holds a running VM paused until vm.resume, or until its deadline when no resume comes', async () => {
  const events: EventMessage[] = [];
  const off = hub.onEvent((id, e) => id === hostId && events.push(e));
  const vm = `strata-pause-${suffix}`;
  // No disk and no kernel: the firmware finds nothing to boot and idles, which is all a pause needs.
  await hub.send(hostId, 'vm.define', { name: vm, cpus: 1, memoryBytes: 128 * 1024 * 1024, disks: [] });
  try {
    assert.equal((await hub.send(hostId, 'vm.start', { vm })).state, 'running');
    await hub.send(hostId, 'vm.pause', { vm, deadlineMs: 60_000 });
    assert.equal((await hub.send(hostId, 'vm.state', { vm })).state, 'paused');
    const resumed = await hub.send(hostId, 'vm.resume', { vm });
    assert.ok(resumed.pausedForMs > 0);
    assert.equal((await hub.send(hostId, 'vm.state', { vm })).state, 'running');

    // no resume: the agent resumes on its own at the deadline and says so
    await hub.send(hostId, 'vm.pause', { vm, deadlineMs: 700 });
    assert.equal((await hub.send(hostId, 'vm.state', { vm })).state, 'paused');
    const byDeadline = await waitFor('vm.resumed event', () =>
      events.find((e) => e.type === 'vm.resumed' && (e.payload as { reason: string }).reason === 'deadline'),
    );
    assert.ok((byDeadline.payload as { pausedForMs: number }).pausedForMs >= 700);
    assert.equal((await hub.send(hostId, 'vm.state', { vm })).state, 'running');
  } finally {
    off();
    await hub.send(hostId, 'vm.destroy', { vm });
  }
});

test('secret.set defines the secret under the uuid the server chose, replacing one of the same usage', async () => {
  const usage = `strata-chan-${suffix} <iqn> & 'q'`;
  const uuids = [randomUUID(), randomUUID()];
  const list = async () => (await run('virsh', ['-c', 'qemu:///system', 'secret-list'])).stdout;
  try {
    assert.deepEqual(
      await hub.send(hostId, 'secret.set', { uuid: uuids[0]!, usage, type: 'iscsi', value: "p@ss 'w'" }),
      {
        uuid: uuids[0],
      },
    );
    await hub.send(hostId, 'secret.set', { uuid: uuids[0]!, usage, type: 'iscsi', value: 'again' }); // idempotent
    assert.match(await list(), new RegExp(uuids[0]!));
    await hub.send(hostId, 'secret.set', { uuid: uuids[1]!, usage, type: 'iscsi', value: 'new' });
    const after = await list();
    assert.match(after, new RegExp(uuids[1]!));
    assert.doesNotMatch(after, new RegExp(uuids[0]!), 'the old uuid of that usage is gone');
    await assert.rejects(
      hub.send(hostId, 'secret.set', { uuid: 'not-a-uuid', usage, type: 'iscsi', value: 'x' }),
      (e) => isStrataError(e, 'INVALID_ARGUMENT'),
    );
    // secret.remove: by uuid, idempotent, a malformed uuid refused
    assert.deepEqual(await hub.send(hostId, 'secret.remove', { uuid: uuids[1]! }), { uuid: uuids[1] });
    assert.doesNotMatch(await list(), new RegExp(uuids[1]!));
    await hub.send(hostId, 'secret.remove', { uuid: uuids[1]! });
    await assert.rejects(hub.send(hostId, 'secret.remove', { uuid: '--all' }), (e) =>
      isStrataError(e, 'INVALID_ARGUMENT'),
    );
  } finally {
    for (const u of uuids)
      await run('virsh', ['-c', 'qemu:///system', 'secret-undefine', '--secret', u]).catch(() => undefined);
  }
});

test('SIGTERM stops the agent cleanly and the server marks the host Disconnected', async () => {
  assert.ok(proc);
  proc.child.kill('SIGTERM');
  assert.equal(await proc.exited, 0);
  await waitFor('Disconnected', async () => {
    const [r] = await db.query<{ state: string }>('SELECT state FROM hosts WHERE id = $1', [hostId]);
    return r?.state === 'Disconnected' ? true : undefined;
  });
});
