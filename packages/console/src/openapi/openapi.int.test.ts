import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { OPENAPI_FILE, TYPES_FILE, currentOpenApi, typesOf } from './dump.js';

const pkg = (f: string) => fileURLToPath(new URL(`../../${f}`, import.meta.url));
const FIX = 'run `npm run build && npm run openapi -w @strata/console` and commit both files';

// The console's API types come from the committed document: both must match a server built now.
test('the committed OpenAPI document is what a server answers, and the console types are generated from it', async () => {
  const committed = await readFile(pkg(OPENAPI_FILE), 'utf8');
  const live = await currentOpenApi();
  assert.ok(live === committed, `${OPENAPI_FILE} is stale: ${FIX}`);
  const types = await readFile(pkg(TYPES_FILE), 'utf8');
  assert.ok((await typesOf(committed)) === types, `${TYPES_FILE} is stale: ${FIX}`);
});
