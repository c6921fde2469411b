import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isStrataError } from '@strata/core';
import { QemuImg } from './qemu-img.js';

// A stand-in qemu-img that records its arguments: what reaches the tool is what is checked.
async function recordingQemuImg(): Promise<{
  img: QemuImg;
  calls: () => Promise<string>;
  done: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-qemu-img-'));
  const log = join(dir, 'calls');
  const bin = join(dir, 'qemu-img');
  await writeFile(bin, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n`);
  await chmod(bin, 0o755);
  return {
    img: new QemuImg(bin),
    calls: () => readFile(log, 'utf8').catch(() => ''),
    done: () => rm(dir, { recursive: true, force: true }),
  };
}

const ctx = { signal: new AbortController().signal };

void test('convert refuses a source or target that is not absolute, before qemu-img runs', async () => {
  const { img, calls, done } = await recordingQemuImg();
  try {
    for (const [src, dst, field] of [
      ['-f', '/pool/v.qcow2', 'src'],
      ['--help', '/pool/v.qcow2', 'src'],
      ['nbd:127.0.0.1:10809', '/pool/v.qcow2', 'src'],
      ['t.qcow2', '/pool/v.qcow2', 'src'],
      ['/templates/t.qcow2', '-O', 'dst'],
    ] as const) {
      await assert.rejects(
        img.convert(ctx, src, 'qcow2', dst),
        (e: unknown) => isStrataError(e, 'INVALID_ARGUMENT') && e.params['field'] === field,
        `${src} -> ${dst}`,
      );
    }
    assert.equal(await calls(), '', 'qemu-img never ran');
    await img.convert(ctx, '/templates/t.qcow2', 'qcow2', '/pool/v.qcow2');
    assert.equal(await calls(), 'convert -q -f qcow2 -O qcow2 /templates/t.qcow2 /pool/v.qcow2\n');
  } finally {
    await done();
  }
});
