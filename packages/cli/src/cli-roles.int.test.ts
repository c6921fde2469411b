import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCliServer, type CliServer } from './test-support/run-cli.js';

// Roles and the audit trail from the CLI, run as a user runs it (`node dist/bin.js`) against a
// real server on in-memory PGlite: give a user a role, see it listed, read the change back from
// the audit trail.

let cli: CliServer;
const strata = (args: readonly string[]) => cli.strata(args);
const json = <T>(args: readonly string[]) => cli.json<T>(args);

before(async () => {
  cli = await startCliServer('cli-roles');
});

after(async () => {
  await cli?.close();
});

test('users create --role, users set-role, users list and audit list', async () => {
  const account = await json<{ id: string }>(['accounts', 'create', '--name', 'cli-roles']);
  const made = await json<{ id: string; role: string }>([
    'users',
    'create',
    '--account',
    account.id,
    '--username',
    'cli-aa',
    '--role',
    'account-admin',
  ]);
  assert.equal(made.role, 'account-admin');
  const changed = await json<{ role: string }>(['users', 'set-role', made.id, 'user']);
  assert.equal(changed.role, 'user');
  const listed = await json<{ items: Array<{ id: string; role: string }> }>([
    'users',
    'list',
    '--account',
    account.id,
  ]);
  assert.deepEqual(
    listed.items.map((u) => [u.id, u.role]),
    [[made.id, 'user']],
  );
  const off = await json<{ disabledAt: string | null }>(['users', 'disable', made.id]);
  assert.match(String(off.disabledAt), /^\d{4}-/);
  assert.equal((await json<{ disabledAt: string | null }>(['users', 'enable', made.id])).disabledAt, null);
  const refused = await strata(['users', 'set-role', made.id, 'root']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /INVALID_ARGUMENT/);

  const trail = await json<{
    items: Array<{ targetId: string; details: { from: string | null; to: string } }>;
  }>(['audit', 'list', '--kind', 'role.changed']);
  assert.deepEqual(
    trail.items.map((e) => [e.targetId, e.details.from, e.details.to]),
    [
      [made.id, null, 'account-admin'],
      [made.id, 'account-admin', 'user'],
    ],
  );
});
