import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { JOB_TYPES } from '@strata/server';

/** Job types no crash test arms yet, each with why (none today: crash-fence arms host.fence). */
const NOT_YET: Readonly<Record<string, string>> = {};

// Every job type is armed by some crash test: each crash test names, as a string, the job types
// it kills the server (or the agents) in. A new job type fails this until a crash test covers it.
test('together the crash tests name every job type in job-types.ts', async () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const files = (await readdir(here)).filter((f) => /^crash-.*\.int\.test\.js$/.test(f));
  const text = (await Promise.all(files.map((f) => readFile(`${here}/${f}`, 'utf8')))).join('\n');
  const missing = Object.values(JOB_TYPES).filter(
    (type) => !text.includes(`'${type}'`) && NOT_YET[type] === undefined,
  );
  assert.deepEqual(missing, [], `job types no crash test arms (in ${files.join(', ')})`);
  for (const type of Object.keys(NOT_YET))
    assert.ok(!text.includes(`'${type}'`), `${type} is armed now: take it off NOT_YET`);
});
