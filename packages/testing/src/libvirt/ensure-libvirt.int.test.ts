import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureLibvirt, LIBVIRT_URI } from './ensure-libvirt.js';

const run = promisify(execFile);

void test('ensureLibvirt starts libvirtd and virtlogd once and is idempotent', async () => {
  const first = await ensureLibvirt();
  assert.match(first.libvirtVersion, /^\d+\.\d+/);
  const second = await ensureLibvirt();
  assert.equal(second.started, false);
  const { stdout } = await run('virsh', ['-c', LIBVIRT_URI, 'version']);
  assert.match(stdout, /QEMU/);
  await run('pidof', ['virtlogd']);
});
