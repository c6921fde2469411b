import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { isStrataError } from '@strata/core';
import { startFileAgent, type FileAgent } from '../orchestration/testing/file-agent.js';
import { SYSTEM_ACTOR } from './actor.js';
import { TemplateService } from './catalog.js';
import { agentTemplateFiles } from './template-paths.js';

// Template registration over the agent channel: the server checks a path's text against
// STRATA_TEMPLATE_DIRS, a real agent process checks the file itself (links, kind) against the
// same list on its machine and reads its size with qemu-img. The server opens no file.
const run = promisify(execFile);
let dir = '';
let templates = '';
let agent: FileAgent;
let service: TemplateService;
const badArg = (field: string) => (e: unknown) =>
  isStrataError(e, 'INVALID_ARGUMENT') && e.params['field'] === field;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata tmpl-files '));
  templates = join(dir, `templates "t" $x;<y>`);
  await mkdir(join(templates, 'sub'), { recursive: true });
  const state = join(dir, 'state');
  await mkdir(state);
  agent = await startFileAgent({ dir: join(dir, 'hub'), hostStateDir: state, poolDirs: [] });
  service = new TemplateService(agent.db, [templates]);
  service.useFiles(agentTemplateFiles(agent.hub, () => agent.hub.connectedHosts()));
});

after(async () => {
  await agent?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a template without a size is sized by the agent; a refused or missing file is INVALID_ARGUMENT', async () => {
  const image = join(templates, `base 'q' $(touch pwned).qcow2`);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', image, '40M']);
  const made = await service.create(SYSTEM_ACTOR, { name: 'sized by agent', path: image, format: 'qcow2' });
  assert.equal(made.sizeBytes, 40 * 1024 ** 2);
  const given = await service.create(SYSTEM_ACTOR, {
    name: 'sized by caller',
    path: image,
    format: 'qcow2',
    sizeBytes: 1024 ** 3,
  });
  assert.equal(given.sizeBytes, 1024 ** 3);

  await writeFile(join(dir, 'outside.qcow2'), '');
  await symlink(join(dir, 'outside.qcow2'), join(templates, 'escape.qcow2'));
  await writeFile(join(templates, 'text.qcow2'), 'not an image');
  const register = (path: string, extra: object = {}) =>
    service.create(SYSTEM_ACTOR, { name: `t-${Math.random()}`, path, format: 'qcow2', ...extra });
  for (const path of [
    join(templates, 'escape.qcow2'),
    join(templates, 'missing.qcow2'),
    join(templates, 'sub'),
    join(templates, 'text.qcow2'),
    join(dir, 'outside.qcow2'),
    `${templates}/../outside.qcow2`,
  ])
    await assert.rejects(register(path), badArg('path'), path);
  await assert.rejects(
    register(image, { sizeBytes: 1024, kernel: { path: join(templates, 'no-kernel') } }),
    badArg('kernel.path'),
  );
});

test('with no agent connected the check is UNAVAILABLE, never made on the server', async () => {
  const lonely = new TemplateService(agent.db, [templates]);
  lonely.useFiles(agentTemplateFiles(agent.hub, () => []));
  const image = join(templates, 'lonely.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', image, '8M']);
  await assert.rejects(
    lonely.create(SYSTEM_ACTOR, { name: 'lonely', path: image, format: 'qcow2', sizeBytes: 8 * 1024 ** 2 }),
    (e) => isStrataError(e, 'UNAVAILABLE'),
  );
  const none = new TemplateService(agent.db, [templates]);
  await assert.rejects(none.create(SYSTEM_ACTOR, { name: 'none', path: image, format: 'qcow2' }), (e) =>
    isStrataError(e, 'UNAVAILABLE'),
  );
});
