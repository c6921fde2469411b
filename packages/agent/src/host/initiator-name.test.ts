import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureInitiatorName, parseInitiatorFile } from './initiator-name.js';

void test('an existing initiator file is read, comments ignored', async () => {
  assert.equal(
    parseInitiatorFile('## c\nInitiatorName=iqn.1993-08.org.debian:01:abc\n'),
    'iqn.1993-08.org.debian:01:abc',
  );
  const dir = await mkdtemp(join(tmpdir(), 'iqn-'));
  await writeFile(join(dir, 'f'), '# x\nInitiatorName=iqn.2000-01.com.example:h1\n');
  assert.equal(await ensureInitiatorName(join(dir, 'f')), 'iqn.2000-01.com.example:h1');
});

void test('a missing initiator file is generated once and persisted', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'iqn-'));
  const path = join(dir, 'iscsi', 'initiatorname.iscsi');
  const first = await ensureInitiatorName(path);
  assert.match(first, /^iqn\.\d{4}-\d\d\.io\.strata:[0-9a-f]{12}$/);
  assert.equal(await ensureInitiatorName(path), first);
  assert.match(await readFile(path, 'utf8'), new RegExp(`InitiatorName=${first.replace(/\./g, '\\.')}`));
});
