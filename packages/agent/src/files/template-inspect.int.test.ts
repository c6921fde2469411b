import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { inspectTemplate } from './template-inspect.js';

const run = promisify(execFile);

test('template.inspect: real files, links followed, qemu-img reads the size; the allow-list is checked here', async () => {
  const root = await mkdtemp(join(tmpdir(), 'strata-tmpl-'));
  try {
    const dir = join(root, `templates "a" $x;<>`);
    await mkdir(join(dir, 'sub'), { recursive: true });
    const image = join(dir, `base 'q'.qcow2`);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', image, '48M']);
    await writeFile(join(root, 'outside.qcow2'), '');
    await symlink(join(root, 'outside.qcow2'), join(dir, 'escape.qcow2'));
    await writeFile(join(dir, 'not-an-image.qcow2'), 'text');
    const signal = new AbortController().signal;
    const inspect = (path: string, format?: 'qcow2' | 'raw', allowedDirs = [dir]) =>
      inspectTemplate({ path, allowedDirs, ...(format && { format }) }, signal);

    assert.deepEqual(await inspect(image, 'qcow2'), { state: 'ok', virtualSize: 48 * 1024 ** 2 });
    assert.deepEqual(await inspect(image), { state: 'ok', virtualSize: null });
    assert.deepEqual(await inspect(join(dir, 'missing.qcow2')), { state: 'absent' });
    for (const [path, why] of [
      [join(dir, 'escape.qcow2'), /allowed template directories/],
      [join(root, 'outside.qcow2'), /allowed template directories/],
      [join(dir, 'sub'), /regular file/],
      [`${dir}/../outside.qcow2`, /normal path/],
      ['-o/etc/passwd', /"-"/],
      ['relative.qcow2', /absolute/],
    ] as const) {
      const r = await inspect(path);
      assert.equal(r.state, 'refused', path);
      assert.match(r.state === 'refused' ? r.reason : '', why, path);
    }
    const r = await inspect(join(dir, 'not-an-image.qcow2'), 'qcow2');
    assert.equal(r.state, 'refused');
    // The server's list is checked against this machine's directories: a list without the file's is refused.
    assert.equal((await inspect(image, undefined, [join(root, 'elsewhere')])).state, 'refused');
    assert.equal((await inspect(image, undefined, [])).state, 'refused');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
