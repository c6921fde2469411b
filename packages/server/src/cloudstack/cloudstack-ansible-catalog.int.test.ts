import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SYSTEM_ACTOR } from '../services/index.js';
import { ansibleMissing, playbook } from './ansible-runner.js';
import { csError, startAnsibleStack, succeeded, twice, type AnsibleStack } from './ansible-stack.js';
import { cloudstack } from './cs-client.js';
import { joinAgent } from './story-host.js';

/**
 * Ansible's CloudStack modules for what needs no guest: the zone and directory, resource limits,
 * templates, accounts and users (each playbook run twice, the second changing nothing), against
 * a real server. The guest flow is cloudstack-ansible.int.
 */
const skip = await ansibleMissing();
let st: AnsibleStack;
let zoneId = '';
let clusterId = '';

before(async () => {
  if (skip) return;
  st = await startAnsibleStack(false);
  const { h, suffix } = st;
  const s = h.server.services;
  const zone = await s.zones.create(SYSTEM_ACTOR, { name: `zone "z" <${suffix}>` });
  zoneId = zone.id;
  clusterId = (await s.clusters.create(SYSTEM_ACTOR, { zoneId, name: `cluster-${suffix}` })).id;
  for (const [name, iops] of [
    [`files-${suffix}`, 0],
    [`fast-${suffix}`, 20_000],
  ] as const)
    await s.pools.create(h.admin.actor, {
      name,
      zoneId,
      clusterId: null,
      provider: 'qcow2',
      scope: 'zone',
      managed: false,
      url: `file://${join(h.dataDir, name)}`,
      capacityBytes: 8 * 1024 ** 3,
      capacityIops: iops,
      details: {},
      storageTags: iops ? ['fast'] : [],
    });
  Object.assign(st.vars, { zone: zone.name });
});

after(async () => {
  await st?.close();
});

const opts = { skip: skip ?? false, timeout: 300_000 };

void test('cs_zone_info reads the zone; the directory answers what Strata has', opts, async () => {
  const { h, suffix } = st;
  const run = await playbook(h.admin, 'zone-info', st.vars, st.work);
  succeeded(run, 'zone-info');
  assert.equal(run.recap.changed, 0);
  const list = async (command: string, args: Record<string, string> = {}) => {
    const out = await cloudstack(h.admin, command, args);
    assert.equal(out.code, 0, `${command}: ${out.stdout} ${out.stderr}`);
    return out.json ?? {};
  };
  const names = (o: Record<string, unknown>, k: string) =>
    ((o[k] ?? []) as Array<Record<string, unknown>>).map((x) => x['name']);
  assert.deepEqual(names(await list('listDomains', { listall: 'true' }), 'domain'), ['ROOT']);
  assert.deepEqual(await list('listProjects'), {});
  assert.deepEqual(await list('listNetworks', { zoneid: zoneId }), {});
  assert.deepEqual(names(await list('listPods', { zoneid: zoneId }), 'pod'), [st.vars['zone']]);
  assert.equal(names(await list('listClusters', { zoneid: zoneId }), 'cluster').length, 1);
  assert.deepEqual(names(await list('listHypervisors'), 'hypervisor'), ['KVM']);
  const os = (await list('listOsTypes'))['ostype'] as Array<Record<string, unknown>>;
  assert.deepEqual(
    os.map((x) => x['description']),
    ['Other (64-bit)'],
  );
  const capacity = (await list('listCapacity', { zoneid: zoneId }))['capacity'] as Array<
    Record<string, unknown>
  >;
  assert.deepEqual(capacity.map((c) => [c['poolname'], c['capacitytotal'], c['capacityiops']]).sort(), [
    [`fast-${suffix}`, 8 * 1024 ** 3, 20_000],
    [`files-${suffix}`, 8 * 1024 ** 3, 0],
  ]);
  // Pools answer their storage tags as CloudStack does (one comma-separated string).
  const pools = (await list('listStoragePools', { zoneid: zoneId }))['storagepool'] as Array<
    Record<string, unknown>
  >;
  assert.deepEqual(pools.map((p) => [p['name'], p['tags']]).sort(), [
    [`fast-${suffix}`, 'fast'],
    [`files-${suffix}`, undefined],
  ]);
  // A user sees no pool capacity, as with listStoragePools.
  const denied = await cloudstack(h.user, 'listCapacity');
  assert.equal(denied.code, 1, denied.stdout);
  assert.deepEqual(csError(denied.json, 'listCapacity'), [531, 'AUTH_FORBIDDEN']);
});

void test(
  "cs_resourcelimit sets an account's limits idempotently (primary storage in GiB)",
  opts,
  async () => {
    const s = st.h.server.services;
    const account = await s.accounts.get(st.h.admin.actor, st.h.user.actor.accountId);
    const run = await twice(st, 'resource-limit', { limit_account: account.name, volume_limit: 50 }, 2);
    assert.equal(run.results.get('volume limit')?.['limit'], 50);
    const limits = await s.resourceLimits.list(st.h.admin.actor, account.id);
    const max = Object.fromEntries(limits.map((l) => [l.kind, l.max]));
    assert.deepEqual([max['volume'], max['primary-storage-bytes']], [50, 20 * 1024 ** 3]);
  },
);

void test(
  'cs_template registers an allowed file, then deletes it; other URLs are refused',
  opts,
  async () => {
    const { h, suffix } = st;
    const s = h.server.services;
    const dir = join(h.dataDir, 'templates');
    await mkdir(dir, { recursive: true });
    const file = join(dir, `base ${suffix}.qcow2`);
    await new Promise<void>((resolve, reject) =>
      execFile('qemu-img', ['create', '-q', '-f', 'qcow2', file, '64M'], (e) =>
        e ? reject(new Error(e.message)) : resolve(),
      ),
    );
    // The server opens no file: an agent (storage role alone, no libvirt) checks and sizes it.
    const agent = await joinAgent(h, clusterId, {
      stateDir: join(h.dataDir, 'agent'),
      roles: 'storage',
      poolDirs: [],
    });
    try {
      const name = `tiny "base" <${suffix}>`;
      const tv = { template_name: name, template_url: pathToFileURL(file).href };
      await twice(st, 'template', { ...tv, template_state: 'present' }, 1);
      const [made] = (await s.templates.list(h.admin.actor, { name })).items;
      assert.deepEqual(
        [made?.format, made?.sizeBytes],
        ['qcow2', 64 * 1024 ** 2],
        'the size is read from the file',
      );
      // Strata downloads nothing, and reads only the directories the operator allows.
      for (const url of ['http://example.com/base.qcow2', '/etc/hostname', 'file:///etc/hostname']) {
        const out = await cloudstack(h.admin, 'registerTemplate', {
          name: `refused ${suffix}`,
          url,
          format: 'QCOW2',
          hypervisor: 'KVM',
          zoneid: zoneId,
        });
        const err = (out.json?.['registertemplateresponse'] ?? {}) as Record<string, unknown>;
        assert.deepEqual([err['errorcode'], err['stratacode']], [431, 'INVALID_ARGUMENT'], url);
        assert.match(String(err['errortext']), /url|path/, url);
      }
      // Registering is an operator's act.
      const denied = await cloudstack(h.user, 'registerTemplate', {
        name: `user ${suffix}`,
        url: tv.template_url,
        format: 'QCOW2',
        hypervisor: 'KVM',
      });
      assert.deepEqual(csError(denied.json, 'registerTemplate'), [531, 'AUTH_FORBIDDEN']);
      await twice(st, 'template', { ...tv, template_state: 'absent' }, 1);
      assert.deepEqual((await s.templates.list(h.admin.actor, { name })).items, []);
    } finally {
      agent.kill('SIGTERM');
    }
  },
);

void test(
  'cs_account and cs_user: an account, its users with profile and keys; updateUser; disabled, enabled and absent',
  opts,
  async () => {
    const { h, suffix } = st;
    const s = h.server.services;
    const password = `pa$$ "w" <${suffix}> ;rm`;
    const av = {
      account_name: `team "blue" <${suffix}>`,
      account_user: `ada-${suffix}`,
      account_password: password,
      user_name: `bob'${suffix}`,
      user_first_name: 'Bob',
      user_email: 'bob@example.com',
    };
    // The account and its first user, then a second user with API keys: two changes, then none.
    const first = await twice(st, 'accounts', av, 2);
    assert.ok(!JSON.stringify(first.results.get('user')).includes(password), 'the password is never echoed');
    assert.equal(first.stdout.includes(password), false, 'nor printed');
    const [account] = (await s.accounts.list(h.admin.actor, { name: av.account_name })).items;
    assert.equal(account?.role, 'user');
    const users = (await s.accounts.listUsers(h.admin.actor, { accountId: account.id })).items;
    assert.deepEqual(users.map((u) => [u.username, u.profile.firstName, u.profile.email]).sort(), [
      [av.account_user, 'Ada', 'ada@example.com'],
      [av.user_name, 'Bob', 'bob@example.com'],
    ]);
    const keys = (
      await s.apiKeys.list(h.admin.actor, { userId: users.find((u) => u.username === av.user_name)!.id })
    ).items;
    assert.equal(keys.length, 1, 'keys registered once, however often the playbook ran');
    // A new e-mail goes through updateUser.
    await twice(st, 'accounts', { ...av, user_email: 'robert@example.com' }, 1);
    const bob = (await s.accounts.listUsers(h.admin.actor, { username: av.user_name })).items[0];
    assert.equal(bob?.profile.email, 'robert@example.com');
    // Disabled (disableUser), then enabled again (enableUser): one change each, then none.
    const moved = { ...av, user_email: 'robert@example.com' };
    await twice(st, 'accounts', { ...moved, user_state: 'disabled' }, 1);
    const off = (await s.accounts.listUsers(h.admin.actor, { username: av.user_name })).items[0];
    assert.match(String(off?.disabledAt), /^\d{4}-/, 'disabled');
    await twice(st, 'accounts', { ...moved, user_state: 'enabled' }, 1);
    const on = (await s.accounts.listUsers(h.admin.actor, { username: av.user_name })).items[0];
    assert.equal(on?.disabledAt, null, 'enabled again');
    // Absent (deleteUser): one change, then none; its account and the account's first user stay.
    await twice(st, 'accounts', { ...moved, user_state: 'absent' }, 1);
    assert.deepEqual((await s.accounts.listUsers(h.admin.actor, { username: av.user_name })).items, []);
    assert.equal((await s.accounts.listUsers(h.admin.actor, { accountId: account.id })).items.length, 1);
    // Creating accounts is an operator's act; bad names are coded 431s.
    const denied = await cloudstack(h.user, 'createAccount', {
      username: `x-${suffix}`,
      password: 'long enough',
    });
    assert.deepEqual(csError(denied.json, 'createAccount'), [531, 'AUTH_FORBIDDEN']);
    // Control characters are refused by the parameter reader, an overlong name by the service.
    const bad = await cloudstack(h.admin, 'createAccount', { username: 'x\u0001', password: 'long enough' });
    assert.deepEqual(csError(bad.json, 'createAccount'), [431, 'CLOUDSTACK_INVALID_PARAMETER']);
    const long = await cloudstack(h.admin, 'createAccount', {
      username: `x "q" <${'y'.repeat(130)}>`,
      password: 'long enough',
    });
    assert.deepEqual(csError(long.json, 'createAccount'), [431, 'INVALID_ARGUMENT']);
    const short = await cloudstack(h.admin, 'createAccount', { username: `y-${suffix}`, password: 'short' });
    assert.deepEqual(csError(short.json, 'createAccount'), [431, 'INVALID_ARGUMENT']);
    assert.equal(short.stdout.includes("'short'"), false, 'a refused password is not echoed');
    const rename = await cloudstack(h.admin, 'updateUser', { id: bob.id, password: password });
    assert.deepEqual(csError(rename.json, 'updateUser'), [431, 'CLOUDSTACK_INVALID_PARAMETER']);
    assert.equal(rename.stdout.includes(password), false, 'a refused password is not echoed');
    assert.deepEqual(
      (await s.accounts.list(h.admin.actor, {})).items.filter(
        (a) => a.name.startsWith('y-') || a.name.startsWith('x'),
      ),
      [],
      'a refused createAccount leaves no account',
    );
  },
);
