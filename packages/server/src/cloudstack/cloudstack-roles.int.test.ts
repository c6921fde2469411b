import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SYSTEM_ACTOR } from '../services/index.js';
import { cloudstack, type CsRun, type CsTarget } from './cs-client.js';
import { startHarness, type Harness } from './test-harness.js';

// Strata's roles as CloudStack shows them, through Debian's real CloudStack client (`cloudstack`,
// package cs) signing every request: accounttype 1 Admin, 2 DomainAdmin, 0 User, the commands
// each role may and may not run, and listEvents as the operator's audit trail. The server runs
// on the run's stack database (PGlite unless the run asks for PostgreSQL).

const suffix = Math.random().toString(36).slice(2, 8);
let h: Harness & { readonly dataDir: string };
let acctAdmin: CsTarget;
let stranger: CsTarget;
let accountName = '';
let otherAccountName = '';
let acctAdminId = '';
let strangerId = '';
const secrets: string[] = [];

interface CsUserRow {
  id: string;
  username: string;
  account: string;
  accounttype: number;
  roletype: string;
}

function ok(run: CsRun): Record<string, unknown> {
  assert.equal(run.code, 0, `cloudstack failed: ${run.stdout} ${run.stderr}`);
  assert.ok(run.json, `no JSON: ${run.stdout}`);
  return run.json;
}

function refused(run: CsRun, command: string): { errorcode: number; stratacode: string } {
  assert.equal(run.code, 1, `expected a failure: ${run.stdout}`);
  const body = run.json?.[`${command.toLowerCase()}response`] ?? run.json?.['errorresponse'];
  assert.ok(body && typeof body === 'object', run.stdout);
  return body as { errorcode: number; stratacode: string };
}

const users = (run: CsRun): CsUserRow[] => (ok(run)['user'] as CsUserRow[] | undefined) ?? [];

before(async () => {
  h = await startHarness();
  const s = h.server.services;
  accountName = (await s.accounts.get(SYSTEM_ACTOR, h.user.actor.accountId)).name;
  const aa = await s.accounts.createUser(SYSTEM_ACTOR, {
    accountId: h.user.actor.accountId,
    username: `cs-aa-${suffix}`,
    role: 'account-admin',
  });
  acctAdminId = aa.id;
  const aaKey = await s.apiKeys.create(SYSTEM_ACTOR, { userId: aa.id });
  acctAdmin = { endpoint: h.admin.endpoint, key: aaKey.apiKey, secret: aaKey.secretKey };
  otherAccountName = `cs-other-${suffix}`;
  const other = await s.accounts.create(SYSTEM_ACTOR, { name: otherAccountName });
  const st = await s.accounts.createUser(SYSTEM_ACTOR, { accountId: other.id, username: `cs-b-${suffix}` });
  strangerId = st.id;
  const stKey = await s.apiKeys.create(SYSTEM_ACTOR, { userId: st.id });
  stranger = { endpoint: h.admin.endpoint, key: stKey.apiKey, secret: stKey.secretKey };
  secrets.push(h.admin.secret, h.user.secret, aaKey.secretKey, stKey.secretKey);
});

after(async () => {
  await h?.close();
});

void describe('roles through the cs client', () => {
  void test('listUsers and listAccounts carry accounttype and roletype of each role', async () => {
    const all = users(await cloudstack(h.admin, 'listUsers'));
    const byId = new Map(all.map((u) => [u.id, u]));
    const operatorRow = all.find((u) => u.username === 'admin');
    assert.deepEqual([operatorRow?.accounttype, operatorRow?.roletype], [1, 'Admin']);
    const aa = byId.get(acctAdminId);
    assert.deepEqual([aa?.accounttype, aa?.roletype, aa?.account], [2, 'DomainAdmin', accountName]);
    const u = byId.get(h.user.actor.userId ?? '');
    assert.deepEqual([u?.accounttype, u?.roletype], [0, 'User']);
    assert.ok(byId.has(strangerId));

    const accounts = ok(await cloudstack(h.admin, 'listAccounts'))['account'] as Array<{
      name: string;
      accounttype: number;
      roletype: string;
    }>;
    const adminAccount = accounts.find((a) => a.name === 'admin');
    assert.deepEqual([adminAccount?.accounttype, adminAccount?.roletype], [1, 'Admin']);
    assert.equal(accounts.find((a) => a.name === accountName)?.accounttype, 0);
  });

  void test('an account admin lists its account, a user itself', async () => {
    const seenByAdmin = users(await cloudstack(acctAdmin, 'listUsers'));
    assert.ok(seenByAdmin.length >= 2);
    assert.ok(
      seenByAdmin.every((u) => u.account === accountName),
      JSON.stringify(seenByAdmin),
    );
    const seenByUser = users(await cloudstack(h.user, 'listUsers'));
    assert.deepEqual(
      seenByUser.map((u) => u.id),
      [h.user.actor.userId],
    );
    const accounts = ok(await cloudstack(h.user, 'listAccounts'))['account'] as Array<{ name: string }>;
    assert.deepEqual(
      accounts.map((a) => a.name),
      [accountName],
    );
  });

  void test('createUser: an account admin in its account; a user, or another account, refused', async () => {
    const args = {
      account: accountName,
      username: `cs-made-${suffix}`,
      password: 'a long password',
      email: 'x@example.org',
      firstname: 'X',
      lastname: 'Y',
    };
    const made = ok(await cloudstack(acctAdmin, 'createUser', args))['user'] as CsUserRow;
    assert.deepEqual([made.account, made.accounttype, made.roletype], [accountName, 0, 'User']);
    const byUser = refused(
      await cloudstack(h.user, 'createUser', { ...args, username: `cs-u-${suffix}` }),
      'createUser',
    );
    assert.deepEqual([byUser.errorcode, byUser.stratacode], [531, 'AUTH_FORBIDDEN']);
    const elsewhere = refused(
      await cloudstack(acctAdmin, 'createUser', {
        ...args,
        account: otherAccountName,
        username: `cs-x-${suffix}`,
      }),
      'createUser',
    );
    assert.deepEqual([elsewhere.errorcode, elsewhere.stratacode], [431, 'NOT_FOUND']);
  });

  void test('registerUserKeys: a user for itself, an account admin for its users; the keys sign requests', async () => {
    const own = ok(await cloudstack(h.user, 'registerUserKeys', { id: h.user.actor.userId ?? '' }))[
      'userkeys'
    ] as { apikey: string; secretkey: string };
    secrets.push(own.secretkey);
    const withNew = users(
      await cloudstack({ endpoint: h.user.endpoint, key: own.apikey, secret: own.secretkey }, 'listUsers'),
    );
    assert.deepEqual(
      withNew.map((u) => u.id),
      [h.user.actor.userId],
    );
    const up = refused(await cloudstack(h.user, 'registerUserKeys', { id: acctAdminId }), 'registerUserKeys');
    assert.deepEqual([up.errorcode, up.stratacode], [531, 'AUTH_FORBIDDEN']);
    const managed = ok(await cloudstack(acctAdmin, 'registerUserKeys', { id: h.user.actor.userId ?? '' }))[
      'userkeys'
    ] as { secretkey: string };
    secrets.push(managed.secretkey);
    const across = refused(
      await cloudstack(acctAdmin, 'registerUserKeys', { id: strangerId }),
      'registerUserKeys',
    );
    assert.deepEqual([across.errorcode, across.stratacode], [431, 'NOT_FOUND']);
    const strangerTry = refused(
      await cloudstack(stranger, 'registerUserKeys', { id: h.user.actor.userId ?? '' }),
      'registerUserKeys',
    );
    assert.equal(strangerTry.errorcode, 431);
  });

  void test('listEvents is the audit trail: operator only, with refused signatures and keys, no secret', async () => {
    const bad = refused(await cloudstack({ ...h.user, secret: 'not-the-secret' }, 'listZones'), 'listZones');
    assert.equal(bad.errorcode, 401);
    const denied = refused(await cloudstack(acctAdmin, 'listEvents'), 'listEvents');
    assert.deepEqual([denied.errorcode, denied.stratacode], [531, 'AUTH_FORBIDDEN']);

    const failed = ok(await cloudstack(h.admin, 'listEvents', { type: 'auth.failed' }))['event'] as Array<{
      type: string;
      level: string;
      description: string;
      stratacode: string;
    }>;
    const mine = failed.find((e) => e.description.includes(`cloudstack-signature`));
    assert.ok(mine, JSON.stringify(failed));
    assert.deepEqual([mine.type, mine.level, mine.stratacode], ['auth.failed', 'WARN', 'AUTH_BAD_SIGNATURE']);
    assert.ok(mine.description.includes(h.user.key), mine.description);

    const keys = ok(await cloudstack(h.admin, 'listEvents', { type: 'api-key.created' }));
    assert.ok(Number(keys['count']) >= 2, JSON.stringify(keys));
    // An empty list is `{}`, which cs prints as nothing.
    const later = await cloudstack(h.admin, 'listEvents', { startdate: '2999-01-01 00:00:00' });
    assert.equal(later.code, 0, later.stdout);
    assert.equal(later.json?.['count'], undefined, 'nothing after year 2999');

    const everything = JSON.stringify(ok(await cloudstack(h.admin, 'listEvents', { pagesize: '500' })));
    for (const secret of secrets) assert.ok(!everything.includes(secret), `an event holds ${secret}`);
  });

  void test('updateAccount: roleid (or accounttype) sets an account and all its users, as CloudStack; operator only', async () => {
    const name = `cs-upd-${suffix}`;
    const s = h.server.services;
    const acct = await s.accounts.create(SYSTEM_ACTOR, { name });
    const a1 = await s.accounts.createUser(SYSTEM_ACTOR, {
      accountId: acct.id,
      username: `cs-upd1-${suffix}`,
    });
    // a user with a role of its own follows the account's new type too
    const a2 = await s.accounts.createUser(SYSTEM_ACTOR, {
      accountId: acct.id,
      username: `cs-upd2-${suffix}`,
      role: 'account-admin',
    });
    const a1Key = await s.apiKeys.create(SYSTEM_ACTOR, { userId: a1.id });
    const a1Target = { endpoint: h.admin.endpoint, key: a1Key.apiKey, secret: a1Key.secretKey };
    secrets.push(a1Key.secretKey);
    const typeOf = async () =>
      users(await cloudstack(h.admin, 'listUsers', { accountid: acct.id }))
        .map((u) => [u.username, u.accounttype, u.roletype])
        .sort();

    const up = ok(await cloudstack(h.admin, 'updateAccount', { id: acct.id, roleid: 'account-admin' }))[
      'account'
    ] as { name: string; accounttype: number; roletype: string; roleid: string };
    assert.deepEqual(
      [up.name, up.accounttype, up.roletype, up.roleid],
      [name, 2, 'DomainAdmin', 'account-admin'],
    );
    assert.deepEqual(await typeOf(), [
      [`cs-upd1-${suffix}`, 2, 'DomainAdmin'],
      [`cs-upd2-${suffix}`, 2, 'DomainAdmin'],
    ]);
    const listed = ok(await cloudstack(h.admin, 'listAccounts', { name }))['account'] as Array<{
      accounttype: number;
    }>;
    assert.equal(listed[0]?.accounttype, 2);
    // the new role holds at once for the account's keys: an account admin lists its account's users
    assert.equal(users(await cloudstack(a1Target, 'listUsers')).length, 2);

    // by name and account type; then back to User
    const down = ok(await cloudstack(h.admin, 'updateAccount', { account: name, accounttype: '0' }))[
      'account'
    ] as {
      accounttype: number;
      roletype: string;
    };
    assert.deepEqual([down.accounttype, down.roletype], [0, 'User']);
    assert.deepEqual(await typeOf(), [
      [`cs-upd1-${suffix}`, 0, 'User'],
      [`cs-upd2-${suffix}`, 0, 'User'],
    ]);
    assert.deepEqual(
      users(await cloudstack(a1Target, 'listUsers')).map((u) => u.id),
      [a1.id],
    );

    // refusals, each CloudStack-shaped and changing nothing
    const cases: Array<[typeof h.admin | typeof acctAdmin, Record<string, string>, number, string]> = [
      [acctAdmin, { id: h.user.actor.accountId, roleid: 'admin' }, 531, 'AUTH_FORBIDDEN'],
      [h.user, { id: h.user.actor.accountId, roleid: 'admin' }, 531, 'AUTH_FORBIDDEN'],
      [h.admin, { id: acct.id, roleid: 'root' }, 431, 'CLOUDSTACK_INVALID_PARAMETER'],
      [h.admin, { id: acct.id, accounttype: '7' }, 431, 'CLOUDSTACK_INVALID_PARAMETER'],
      [h.admin, { id: acct.id, roleid: 'admin', accounttype: '0' }, 431, 'CLOUDSTACK_INVALID_PARAMETER'],
      [h.admin, { id: acct.id, newname: 'renamed' }, 431, 'CLOUDSTACK_INVALID_PARAMETER'],
      [h.admin, { roleid: 'admin' }, 431, 'CLOUDSTACK_MISSING_PARAMETER'],
      [h.admin, { id: 'acct-none', roleid: 'admin' }, 431, 'NOT_FOUND'],
    ];
    for (const [who, args, errorcode, code] of cases) {
      const r = refused(await cloudstack(who, 'updateAccount', args), 'updateAccount');
      assert.deepEqual([r.errorcode, r.stratacode], [errorcode, code], JSON.stringify(args));
    }
    assert.deepEqual(await typeOf(), [
      [`cs-upd1-${suffix}`, 0, 'User'],
      [`cs-upd2-${suffix}`, 0, 'User'],
    ]);

    // each user whose role changed is in the trail, with the account's own change
    const changes = ok(await cloudstack(h.admin, 'listEvents', { type: 'role.changed', pagesize: '500' }))[
      'event'
    ] as Array<{ description: string; accountid: string }>;
    const about = changes.filter(
      (e) => e.description.includes(a2.id) || e.description.includes(`account ${acct.id}`),
    );
    // a2: user→account-admin at creation, then account-admin→user; account: user→account-admin→user
    assert.ok(about.length >= 4, JSON.stringify(about));
  });

  void test('updateAccount keeps the last operator: the admin account may not be demoted', async () => {
    const adminAccount = h.admin.actor.accountId;
    const r = refused(
      await cloudstack(h.admin, 'updateAccount', { id: adminAccount, roleid: 'user' }),
      'updateAccount',
    );
    assert.equal(r.stratacode, 'AUTH_LAST_OPERATOR');
    const still = ok(await cloudstack(h.admin, 'listAccounts', { id: adminAccount }))['account'] as Array<{
      accounttype: number;
    }>;
    assert.equal(still[0]?.accounttype, 1);
  });
});
