import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isStrataError } from '@strata/core';
import { openDatabase, type Database } from '../db/index.js';
import { TEST_DATABASES } from '../db/test-databases.js';
import { SYSTEM_ACTOR, type Actor } from './actor.js';
import { createServices, type Services } from './index.js';
import { tempSecretBox } from '../secrets/testing/temp-box.js';

const GiB = 1024 ** 3;

// On PostgreSQL concurrent transactions really overlap: only the limit row's lock keeps two
// admissions from both counting the same usage. PGlite runs them one after another.
for (const database of TEST_DATABASES) {
  void describe(`resource limits on ${database.name}`, () => {
    let db: Database;
    let drop: () => Promise<void>;
    let s: Services;
    let user: Actor;
    let poolId: string;

    before(async () => {
      const opened = await database.open();
      drop = opened.drop;
      db = await openDatabase(opened.url);
      s = createServices(db, null, { secrets: await tempSecretBox() });
      const account = await s.accounts.create(SYSTEM_ACTOR, { name: 'tenant' });
      user = { accountId: account.id, userId: null, role: 'user', via: 'system' };
      const zone = await s.zones.create(SYSTEM_ACTOR, { name: 'z' });
      const pool = await s.pools.create(SYSTEM_ACTOR, {
        name: 'p',
        zoneId: zone.id,
        provider: 'qcow2',
        scope: 'zone',
        managed: false,
        capacityBytes: 1000 * GiB,
        capacityIops: 0,
        url: 'file:///srv/p',
      });
      poolId = pool.id;
    });

    after(async () => {
      await db?.close();
      await drop?.();
    });

    void test('concurrent creates at the edge: only the allowed number is admitted', async () => {
      await s.resourceLimits.set(SYSTEM_ACTOR, user.accountId, 'volume', 3);
      await s.resourceLimits.set(SYSTEM_ACTOR, user.accountId, 'vm', 2);
      const [volumes, vms] = await Promise.all([
        Promise.allSettled(
          Array.from({ length: 12 }, (_, i) =>
            s.volumes.create(user, { name: `v${i}`, poolId, sizeBytes: GiB }),
          ),
        ),
        Promise.allSettled(Array.from({ length: 20 }, (_, i) => s.vms.create(user, { name: `vm${i}` }))),
      ]);
      const count = (rs: PromiseSettledResult<unknown>[]) => ({
        ok: rs.filter((r) => r.status === 'fulfilled').length,
        refused: rs.filter(
          (r) => r.status === 'rejected' && isStrataError(r.reason, 'RESOURCE_LIMIT_EXCEEDED'),
        ).length,
      });
      assert.deepEqual(count(volumes), { ok: 3, refused: 9 });
      assert.deepEqual(count(vms), { ok: 2, refused: 18 });
      const usage = await s.resourceLimits.list(user, user.accountId);
      assert.deepEqual(
        usage.filter((l) => l.kind === 'volume' || l.kind === 'vm').map((l) => [l.kind, l.max, l.used]),
        [
          ['vm', 2, 2],
          ['volume', 3, 3],
        ],
      );
    });

    void test('a second admission waits for the first transaction, then counts its record', async (t) => {
      if (database.name !== 'PostgreSQL') return t.skip('PGlite runs one transaction at a time');
      const account = await s.accounts.create(SYSTEM_ACTOR, { name: 'edge' });
      const owner: Actor = { accountId: account.id, userId: null, role: 'user', via: 'system' };
      await s.resourceLimits.set(SYSTEM_ACTOR, account.id, 'vm', 1);
      let release = (): void => undefined;
      const gate = new Promise<void>((r) => (release = r));
      let inside = (): void => undefined;
      const holding = new Promise<void>((r) => (inside = r));
      const first = s.vms.create(owner, { name: 'first' }, async () => {
        inside();
        await gate;
      });
      await holding;
      let settled = false;
      const second = s.vms.create(owner, { name: 'second' }).finally(() => (settled = true));
      second.catch(() => undefined);
      // Until the second one either finished (no lock) or waits on a row lock held by the first.
      for (let i = 0; i < 600 && !settled; i++) {
        const waiting = await db.query(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        if (Number(waiting[0]?.['n']) > 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(settled, false, 'the second admission must wait for the first transaction');
      release();
      await first;
      await assert.rejects(
        second,
        (e) => isStrataError(e, 'RESOURCE_LIMIT_EXCEEDED') && e.params['used'] === 1,
      );
    });

    void test('a user cannot set limits, nor read another account’s', async () => {
      await assert.rejects(s.resourceLimits.set(user, user.accountId, 'vm', 100), (e) =>
        isStrataError(e, 'AUTH_FORBIDDEN'),
      );
      const other = await s.accounts.create(SYSTEM_ACTOR, { name: 'other' });
      await assert.rejects(s.resourceLimits.list(user, other.id), (e) => isStrataError(e, 'NOT_FOUND'));
      await assert.rejects(s.resourceLimits.set(SYSTEM_ACTOR, user.accountId, 'vm', -2), (e) =>
        isStrataError(e, 'INVALID_ARGUMENT'),
      );
    });
  });
}
