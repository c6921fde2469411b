import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { commandTable } from './commands/index.js';

void test('docs/cloudstack-api.md documents every command of the table', async () => {
  const doc = await readFile(new URL('../../../../docs/cloudstack-api.md', import.meta.url), 'utf8');
  const missing = [...commandTable.keys()].filter((name) => !doc.includes(`\`${name}\``));
  assert.deepEqual(missing, []);
});
