import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CliError } from './client.js';
import { reportError } from './context.js';

function capture(): { write: (t: string) => void; text: () => string } {
  let text = '';
  return { write: (t) => (text += t), text: () => text };
}

void test('two failures reported in a row are two lines, each ended by one newline', () => {
  const out = capture();
  assert.equal(reportError(new CliError('PROFILE_NOT_FOUND', 'no profile "x"\n'), false, out.write), 1);
  assert.equal(reportError(new Error('second'), false, out.write), 1);
  assert.equal(out.text(), 'error PROFILE_NOT_FOUND: no profile "x"\nerror: second\n');
});

void test("a registry code's hint is its own line", () => {
  const out = capture();
  reportError(new CliError('STORAGE_IOPS_EXHAUSTED', 'pool full', 409), false, out.write);
  const lines = out.text().split('\n');
  assert.equal(lines[0], 'error STORAGE_IOPS_EXHAUSTED (HTTP 409): pool full');
  assert.match(lines[1] ?? '', /^hint: \S/);
  assert.equal(lines.length, 3, 'two lines and the final newline');
});

void test('with JSON output every failure is one JSON line, plain errors too', () => {
  const out = capture();
  reportError(new CliError('NO_CREDENTIALS', 'no API key'), true, out.write);
  reportError(new Error('bad file'), true, out.write);
  const lines = out.text().trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.deepEqual(JSON.parse(lines[0] ?? ''), {
    error: { code: 'NO_CREDENTIALS', message: 'no API key', status: null },
  });
  assert.equal((JSON.parse(lines[1] ?? '') as { error: { code: string } }).error.code, 'CLI_ERROR');
});
