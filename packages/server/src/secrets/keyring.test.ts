import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isStrataError } from '@strata/core';
import { Keyring } from './keyring.js';
import { openWith, sealWith } from './sealed-value.js';

const made: string[] = [];
const temp = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-keyring-'));
  made.push(dir);
  return dir;
};
after(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));
const refused = (reason: RegExp) => (e: unknown) =>
  isStrataError(e, 'SECRETS_KEY_FILE_REFUSED') && reason.test(e.message);

test('a missing key file is created with mode 0600 and read back the same on the next load', async () => {
  const path = join(await temp(), 'secrets.key');
  const ring = await Keyring.load(path);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal((await Keyring.load(path)).current.id, ring.current.id);
});

test('a key file others can read or write is refused, and so is a directory, a link or a file without a key', async () => {
  const dir = await temp();
  const path = join(dir, 'secrets.key');
  await Keyring.load(path);
  for (const mode of [0o644, 0o640, 0o604, 0o660, 0o700]) {
    await chmod(path, mode);
    await assert.rejects(Keyring.load(path), refused(new RegExp(`mode is 0${mode.toString(8)}`)));
  }
  await chmod(path, 0o400);
  await Keyring.load(path); // narrower than 0600 is fine
  const asDir = join(dir, 'dir.key');
  await mkdir(asDir);
  await assert.rejects(Keyring.load(asDir), refused(/not a regular file/));
  const linked = join(dir, 'linked.key');
  await symlink(path, linked);
  await assert.rejects(Keyring.load(linked), refused(/symbolic link/));
  const junk = join(dir, 'junk.key');
  await writeFile(junk, 'not a key\n', { mode: 0o600 });
  await assert.rejects(Keyring.load(junk), refused(/does not hold a key/));
});

test('promotion keeps the old key as a retired file until it is dropped', async () => {
  const dir = await temp();
  const path = join(dir, 'secrets.key');
  const ring = await Keyring.load(path);
  const old = ring.current;
  const sealed = sealWith(old, 'v', 'ctx');
  const previous = await ring.promoteNewKey();
  assert.equal(previous.id, old.id);
  assert.notEqual(ring.current.id, old.id);
  assert.deepEqual((await readdir(dir)).sort(), ['secrets.key', `secrets.key.${old.id}.retired`]);
  assert.equal((await stat(join(dir, `secrets.key.${old.id}.retired`))).mode & 0o777, 0o600);
  // Another process loading now (after a crash, say) has both keys.
  const reloaded = await Keyring.load(path);
  assert.equal(reloaded.current.id, ring.current.id);
  const oldAgain = reloaded.key(old.id);
  assert.ok(oldAgain);
  assert.equal(openWith(oldAgain, sealed, 'ctx'), 'v');
  assert.deepEqual(await ring.dropUnused(new Set([old.id])), []);
  assert.deepEqual(await ring.dropUnused(new Set()), [old.id]);
  assert.deepEqual(await readdir(dir), ['secrets.key']);
  assert.equal(ring.key(old.id), undefined);
});

test('a retired key file with a wide mode is refused too', async () => {
  const dir = await temp();
  const path = join(dir, 'secrets.key');
  const ring = await Keyring.load(path);
  const old = await ring.promoteNewKey();
  await chmod(join(dir, `secrets.key.${old.id}.retired`), 0o644);
  await assert.rejects(Keyring.load(path), refused(/mode is 0644/));
});
