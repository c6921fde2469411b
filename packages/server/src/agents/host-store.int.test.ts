import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isStrataError, type HostFacts } from '@strata/core';
import { openDatabase, type Database } from '../db/index.js';
import { TEST_DATABASES, type TestDatabase } from '../db/test-databases.js';
import { HostStore } from './host-store.js';

// The registration rules against PGlite and PostgreSQL: tokens are one-time (but for a lost welcome) and expire,
// a reinstalled host keeps its id with a new secret, a removed host is refused.
let db: Database;
let store: HostStore;
const suffix = Math.random().toString(36).slice(2, 8);
const facts = (hostname: string): HostFacts => ({
  hostname,
  address: '127.0.0.1',
  arch: 'x64',
  cpus: 2,
  memoryBytes: 1 << 30,
  libvirtVersion: '9.0.0',
  qemuVersion: '7.2.0',
  iscsiInitiator: null,
  adaptors: ['file'],
  agentVersion: 'test',
});

for (const database of TEST_DATABASES) {
  void describe(`host registration on ${database.name}`, () => {
    let opened: TestDatabase;
    before(async () => {
      opened = await database.open();
      db = await openDatabase(opened.url);
      await db.query(`INSERT INTO zones (id, name) VALUES ('z', 'z')`);
      await db.query(`INSERT INTO clusters (id, zone_id, name) VALUES ('c1', 'z', 'c1'), ('c2', 'z', 'c2')`);
      store = new HostStore(db);
    });

    after(async () => {
      await db.close();
      await opened.drop();
    });

    const refused = (reason: RegExp) => (e: unknown) =>
      isStrataError(e, 'AGENT_REGISTRATION_REFUSED') && reason.test(e.message);

    test('a host whose welcome was lost spends its token again until it confirms; no other host can', async () => {
      const t = await store.issueToken('c1', 60 * 60_000);
      const name = `h-lost-${suffix}`;
      const first = await store.register(t.token, facts(name));
      await assert.rejects(store.register(t.token, facts(`h-other-${suffix}`)), refused(/already used/));
      const again = await store.register(t.token, facts(name));
      assert.equal(again.hostId, first.hostId, 'the same host row');
      assert.notEqual(again.secret, first.secret, 'a new secret');
      await assert.rejects(store.authenticate(first.hostId, first.secret), (e) =>
        isStrataError(e, 'AGENT_AUTH_FAILED'),
      );
      await store.authenticate(again.hostId, again.secret); // holds it: confirmed
      await assert.rejects(store.register(t.token, facts(name)), refused(/already used/));
      // unconfirmed but spent longer ago than the retry window: refused too
      const late = await store.issueToken('c1', 60 * 60_000);
      await store.register(late.token, facts(`h-late-${suffix}`));
      await db.query(
        `UPDATE host_registration_tokens SET used_at = now() - interval '11 minutes' WHERE id = $1`,
        [late.id],
      );
      await assert.rejects(store.register(late.token, facts(`h-late-${suffix}`)), refused(/already used/));
    });

    test('tokens: unknown cluster NOT_FOUND; expired, reused and unknown tokens refused with the reason', async () => {
      await assert.rejects(store.issueToken('nope', 1000), (e) => isStrataError(e, 'NOT_FOUND'));
      const expired = await store.issueToken('c1', 1);
      await new Promise((r) => setTimeout(r, 20));
      await assert.rejects(store.register(expired.token, facts(`h-exp-${suffix}`)), refused(/expired/));
      await assert.rejects(store.register('strata-reg_guess', facts(`h-x-${suffix}`)), refused(/unknown/));
      const once = await store.issueToken('c1', 60_000);
      await store.register(once.token, facts(`h-once-${suffix}`));
      await assert.rejects(store.register(once.token, facts(`h-twice-${suffix}`)), refused(/already used/));
      const [row] = await db.query<{ token_hash: string }>(
        'SELECT token_hash FROM host_registration_tokens WHERE id = $1',
        [once.id],
      );
      assert.notEqual(row?.token_hash, once.token, 'only the hash is stored');
    });

    test('a plain token cannot take over a registered host name: AGENT_HOST_NAME_TAKEN, the host keeps its key', async () => {
      const name = `h-take-${suffix}`;
      const first = await store.register((await store.issueToken('c1', 60_000)).token, facts(name));
      await store.authenticate(first.hostId, first.secret);
      const fresh = await store.issueToken('c1', 60_000);
      await assert.rejects(store.register(fresh.token, facts(name)), (e) =>
        isStrataError(e, 'AGENT_HOST_NAME_TAKEN'),
      );
      await store.authenticate(first.hostId, first.secret); // still the real host's key
      // the refused token is not spent: it still registers a new host name
      const other = await store.register(fresh.token, facts(`h-take-new-${suffix}`));
      assert.notEqual(other.hostId, first.hostId);
      // a token bound to one host does not register another name, nor a new host
      const bound = await store.issueHostToken(first.hostId, 60_000);
      assert.equal(bound.hostId, first.hostId);
      await assert.rejects(
        store.register(bound.token, facts(`h-take-new-${suffix}`)),
        refused(/another host/),
      );
      await assert.rejects(
        store.register(bound.token, facts(`h-take-none-${suffix}`)),
        refused(/another host/),
      );
      await store.authenticate(first.hostId, first.secret);
      await assert.rejects(store.issueHostToken('no-such-host', 60_000), (e) =>
        isStrataError(e, 'NOT_FOUND'),
      );
    });

    test('a reinstalled host re-registers with its bound token: same id, new secret, the old one stops working', async () => {
      const name = `h-re-${suffix}`;
      const first = await store.register((await store.issueToken('c1', 60_000)).token, facts(name));
      await store.authenticate(first.hostId, first.secret);
      const second = await store.register((await store.issueHostToken(first.hostId, 60_000)).token, {
        ...facts(name),
        cpus: 8,
      });
      assert.equal(second.hostId, first.hostId);
      assert.notEqual(second.secret, first.secret);
      await assert.rejects(store.authenticate(first.hostId, first.secret), (e) =>
        isStrataError(e, 'AGENT_AUTH_FAILED'),
      );
      await store.authenticate(second.hostId, second.secret);
      const [row] = await db.query<{ cpus: number }>('SELECT cpus FROM hosts WHERE id = $1', [first.hostId]);
      assert.equal(row?.cpus, 8, 'facts updated');
      // the same name from another cluster's token is refused
      await assert.rejects(store.register((await store.issueToken('c2', 60_000)).token, facts(name)), (e) =>
        isStrataError(e, 'AGENT_HOST_NAME_TAKEN'),
      );
    });

    test('host states follow hostMachine; a removed host is refused', async () => {
      const { hostId, secret } = await store.register(
        (await store.issueToken('c1', 60_000)).token,
        facts(`h-rm-${suffix}`),
      );
      assert.equal(await store.state(hostId), 'Connecting');
      assert.deepEqual(await store.transition(hostId, 'Connected'), { from: 'Connecting', to: 'Up' });
      assert.deepEqual(await store.transition(hostId, 'Disconnected'), { from: 'Up', to: 'Disconnected' });
      assert.equal(
        await store.transition(hostId, 'Disconnected'),
        undefined,
        'a second loss changes nothing',
      );
      await db.query(`UPDATE hosts SET state = 'Removed' WHERE id = $1`, [hostId]);
      await assert.rejects(
        store.authenticate(hostId, secret),
        (e) => isStrataError(e, 'AGENT_AUTH_FAILED') && /removed/.test(e.message),
      );
      await assert.rejects(store.authenticate('no-such-host', secret), (e) =>
        isStrataError(e, 'AGENT_AUTH_FAILED'),
      );
    });

    test('silent hosts: only those no server heard from within the window, re-checked under the lock', async () => {
      const { hostId } = await store.register(
        (await store.issueToken('c1', 60_000)).token,
        facts(`h-silent-${suffix}`),
      );
      await store.transition(hostId, 'Connected');
      assert.ok(!(await store.silentHosts(60_000)).includes(hostId), 'just seen');
      await db.query(`UPDATE hosts SET last_seen_at = now() - interval '10 minutes' WHERE id = $1`, [hostId]);
      assert.ok((await store.silentHosts(60_000)).includes(hostId));
      await store.touch(hostId); // a heartbeat lands on some server in between
      assert.equal(await store.transition(hostId, 'Disconnected', { ifSilentMs: 60_000 }), undefined);
      await db.query(`UPDATE hosts SET last_seen_at = now() - interval '10 minutes' WHERE id = $1`, [hostId]);
      assert.deepEqual(await store.transition(hostId, 'Disconnected', { ifSilentMs: 60_000 }), {
        from: 'Up',
        to: 'Disconnected',
      });
    });
  });
}
