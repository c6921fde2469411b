import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StrataError } from '@strata/core';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAULT_HOLD_ENV, faultBoundary, parseFaultPoint } from './fault.js';

test('the fault hook reads <jobType>:<step>:<boundary>, splitting from the right', () => {
  assert.equal(parseFaultPoint(undefined), null);
  assert.equal(parseFaultPoint(''), null);
  assert.deepEqual(parseFaultPoint('vm-snapshot.delete:merge-files:after'), {
    jobType: 'vm-snapshot.delete',
    step: 'merge-files',
    boundary: 'after',
  });
});

test('a malformed fault hook is INVALID_ARGUMENT naming the variable, never silently off', () => {
  for (const bad of ['vm-snapshot.delete:merge-files', 'x:y:during', ':step:before', 'job::after', 'after']) {
    assert.throws(
      () => parseFaultPoint(bad),
      (e: unknown) =>
        e instanceof StrataError &&
        e.code === 'INVALID_ARGUMENT' &&
        JSON.stringify(e.params).includes('STRATA_FAULT_KILL_AT'),
      bad,
    );
  }
});

test('the hold hook stops a job at its boundary until the test removes the file, and only there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-fault-'));
  const file = join(dir, 'hold');
  process.env[FAULT_HOLD_ENV] = file;
  try {
    writeFileSync(file, 'vm.migrate:migrate:after\n');
    // another boundary passes at once and marks nothing
    await faultBoundary('vm.migrate', 'migrate', 'before');
    await faultBoundary('vm.migrate', 'grant', 'after');
    assert.equal(existsSync(`${file}.held`), false);
    let passed = false;
    const held = faultBoundary('vm.migrate', 'migrate', 'after').then(() => (passed = true));
    const end = Date.now() + 5_000;
    while (!existsSync(`${file}.held`) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(existsSync(`${file}.held`), true, 'the held boundary is announced');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(passed, false, 'it waits while the file exists');
    rmSync(file);
    await held;
    assert.equal(passed, true);
  } finally {
    delete process.env[FAULT_HOLD_ENV];
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the hold file in its `fail` form fails the step at its `before` boundary, and nowhere else', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-fault-'));
  const file = join(dir, 'hold');
  process.env[FAULT_HOLD_ENV] = file;
  try {
    writeFileSync(file, 'fail vm.migrate:confirm:before\n');
    await faultBoundary('vm.migrate', 'migrate', 'before');
    await faultBoundary('vm.migrate', 'confirm', 'after');
    await assert.rejects(
      faultBoundary('vm.migrate', 'confirm', 'before'),
      (e: unknown) =>
        e instanceof StrataError &&
        e.code === 'INTERNAL' &&
        JSON.stringify(e.params).includes(FAULT_HOLD_ENV),
    );
    assert.equal(existsSync(`${file}.held`), false, 'a failing boundary holds nothing');
    writeFileSync(file, 'fail vm.migrate:confirm:after\n');
    await faultBoundary('vm.migrate', 'confirm', 'after');
  } finally {
    delete process.env[FAULT_HOLD_ENV];
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a job held at a `before` boundary fails there once the file is rewritten to its fail form', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-fault-'));
  const file = join(dir, 'hold');
  process.env[FAULT_HOLD_ENV] = file;
  try {
    writeFileSync(file, 'vm.migrate:confirm:before\n');
    const held = faultBoundary('vm.migrate', 'confirm', 'before');
    const end = Date.now() + 5_000;
    while (!existsSync(`${file}.held`) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(existsSync(`${file}.held`), true, 'held first');
    writeFileSync(file, 'fail vm.migrate:confirm:before\n');
    await assert.rejects(held, (e: unknown) => e instanceof StrataError && e.code === 'INTERNAL');
  } finally {
    delete process.env[FAULT_HOLD_ENV];
    rmSync(dir, { recursive: true, force: true });
  }
});
