import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCliServer, type CliServer } from './test-support/run-cli.js';

// Resource limits from the CLI, run as a user runs it (`node dist/bin.js`) against a real server
// on in-memory PGlite: set limits (a size for storage), read them back with usage, lift one.

let cli: CliServer;
const strata = (args: readonly string[]) => cli.strata(args);
const json = <T>(args: readonly string[]) => cli.json<T>(args);

before(async () => {
  cli = await startCliServer('cli-limits');
});

after(async () => {
  await cli?.close();
});

test('accounts limits set and list', async () => {
  const account = await json<{ id: string }>(['accounts', 'create', '--name', 'cli-limits']);
  const storage = await json<{ kind: string; max: number; used: number }>([
    'accounts',
    'limits',
    'set',
    account.id,
    'primary-storage-bytes',
    '100G',
  ]);
  assert.deepEqual(storage, {
    accountId: account.id,
    kind: 'primary-storage-bytes',
    max: 100 * 1024 ** 3,
    used: 0,
  });
  await json(['accounts', 'limits', 'set', account.id, 'vm', '5']);
  const listed = await json<{ items: Array<{ kind: string; max: number }> }>([
    'accounts',
    'limits',
    'list',
    account.id,
  ]);
  assert.deepEqual(
    listed.items.map((l) => [l.kind, l.max]),
    [
      ['vm', 5],
      ['volume', -1],
      ['volume-snapshot', -1],
      ['vm-snapshot', -1],
      ['primary-storage-bytes', 100 * 1024 ** 3],
      ['min-iops', -1],
    ],
  );
  const lifted = await json<{ max: number }>(['accounts', 'limits', 'set', account.id, 'vm', 'unlimited']);
  assert.equal(lifted.max, -1);
  const refused = await strata(['accounts', 'limits', 'set', account.id, 'cpu', '4']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /INVALID_ARGUMENT/);
  const table = await strata([
    '-o',
    'table',
    'accounts',
    'limits',
    'ls',
    account.id,
    '--kind',
    'primary-storage-bytes',
  ]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /primary-storage-bytes\s+100 GiB\s+0 B/);
});
