import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError, type StorageContext, type TemplateRef } from '@strata/core';
import { CephCli } from './cli.js';
import { importTemplate } from './clone.js';

/** Every command reaches exec: this one records it and answers like a small template would. */
class RecordingCli extends CephCli {
  readonly calls: string[][] = [];
  override exec(_ctx: StorageContext, tool: string, args: readonly string[]): Promise<string> {
    this.calls.push([tool, ...args]);
    return Promise.resolve(tool === 'qemu-img' ? '{"virtual-size": 1048576}' : '');
  }
}

const ctx: StorageContext = { signal: new AbortController().signal };
const template = (path: string): TemplateRef => ({ id: 't1', path, format: 'qcow2' });

void test('a template path that is not absolute never reaches qemu-img or rbd import', async () => {
  for (const path of ['-f', '--help', '-', 'nbd:127.0.0.1:10809', 'images/t.qcow2']) {
    const cli = new RecordingCli({ confPath: '/c', keyringPath: '/k', clientId: 'admin' });
    await assert.rejects(
      importTemplate(ctx, { cli, pool: 'p' }, template(path), 'v1', 1048576),
      (e: unknown) => isStrataError(e, 'INVALID_ARGUMENT') && e.params['field'] === 'template.path',
      path,
    );
    assert.deepEqual(cli.calls, [], path);
  }
  const cli = new RecordingCli({ confPath: '/c', keyringPath: '/k', clientId: 'admin' });
  await importTemplate(ctx, { cli, pool: 'p' }, template('/templates/t.qcow2'), 'v1', 1048576);
  const convert = cli.calls.find((c) => c[0] === 'qemu-img' && c[1] === 'convert');
  assert.ok(convert?.includes('/templates/t.qcow2'), JSON.stringify(cli.calls));
});
