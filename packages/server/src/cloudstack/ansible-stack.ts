import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloudstack } from './cs-client.js';
import { failures, playbook, type PlaybookRun } from './ansible-runner.js';
import { prepareStoryHost, type StoryHost } from './story-host.js';
import { startHarness, type Harness } from './test-harness.js';

/**
 * Test support shared by the Ansible test files: one server (and, for the guest flow, a real host
 * agent with libvirt and tgtd) per file, the playbooks' variables, and `twice`, which runs a
 * playbook a second time and requires that second run to change nothing.
 */
export interface AnsibleStack {
  readonly h: Harness & { dataDir: string };
  readonly host: StoryHost | null;
  readonly work: string;
  readonly suffix: string;
  readonly vars: Record<string, unknown>;
  close(): Promise<void>;
}

export async function startAnsibleStack(withHost: boolean): Promise<AnsibleStack> {
  const suffix = Math.random().toString(36).slice(2, 6);
  const h = await startHarness();
  // A host that cannot be prepared (libvirtd not answering) must not leave the server running.
  const host = withHost
    ? await prepareStoryHost(h, suffix).catch(async (e: unknown) => {
        await h.close();
        throw e;
      })
    : null;
  const work = await mkdtemp(join(tmpdir(), 'strata-ansible-'));
  await mkdir(join(work, 'tmp'));
  return {
    h,
    host,
    work,
    suffix,
    vars: {},
    async close() {
      await host?.stop();
      await h.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}

export function succeeded(run: PlaybookRun, what: string): void {
  assert.equal(run.recap.failures, 0, `${what} failed:\n${failures(run)}\n${run.stderr}`);
  assert.equal(run.code, 0, `${what} exited ${run.code}: ${run.stderr}`);
}

/** Runs a playbook once (no idempotence claim: a revert or restart always reports a change). */
export async function once(
  st: AnsibleStack,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<PlaybookRun> {
  const run = await playbook(st.h.admin, name, { ...st.vars, ...extra }, st.work);
  succeeded(run, name);
  return run;
}

/** Runs a playbook, then again: the first must succeed (and change `changes` when given), the second change nothing. */
export async function twice(
  st: AnsibleStack,
  name: string,
  extra: Record<string, unknown> = {},
  changes?: number,
): Promise<PlaybookRun> {
  const first = await playbook(st.h.admin, name, { ...st.vars, ...extra }, st.work);
  succeeded(first, `${name} (first run)`);
  if (changes !== undefined) assert.equal(first.recap.changed, changes, `${name}: first run changes`);
  const second = await playbook(st.h.admin, name, { ...st.vars, ...extra }, st.work);
  succeeded(second, `${name} (second run)`);
  assert.equal(second.recap.changed, 0, `${name}: the second run changed something:\n${second.stdout}`);
  return first;
}

/** Tags a resource with the cs client, then finds it (alone) by the tag in its list, which shows the tag. */
export async function taggedList(
  st: AnsibleStack,
  type: string,
  id: string,
  command: string,
  element: string,
): Promise<void> {
  const admin = st.h.admin;
  const tag = { 'tags[0].key': 'stage', 'tags[0].value': `before "upgrade" <${st.suffix}>` };
  const made = await cloudstack(admin, 'createTags', { resourceids: id, resourcetype: type, ...tag });
  assert.equal(made.code, 0, made.stdout + made.stderr);
  const found = await cloudstack(admin, command, tag);
  const items = (found.json?.[element] ?? []) as Array<Record<string, unknown>>;
  assert.deepEqual(
    items.map((x) => x['id']),
    [id],
    found.stdout,
  );
  assert.deepEqual(
    (items[0]?.['tags'] as Array<Record<string, unknown>>).map((t) => [
      t['key'],
      t['value'],
      t['resourcetype'],
    ]),
    [['stage', tag['tags[0].value'], type]],
  );
  const none = await cloudstack(admin, command, { 'tags[0].key': 'stage', 'tags[0].value': 'after' });
  assert.deepEqual([none.code, none.stdout.trim()], [0, ''], none.stderr);
}

/** A CloudStack error answer's codes: [errorcode, stratacode]. */
export function csError(
  json: Record<string, unknown> | null | undefined,
  command: string,
): [unknown, unknown] {
  const body = (json?.[`${command.toLowerCase()}response`] ?? {}) as Record<string, unknown>;
  return [body['errorcode'], body['stratacode']];
}

/** Removes a test domain that outlived its test (nothing else of the machine's). */
export const virsh = (...args: string[]) =>
  new Promise<void>((resolve) => execFile('virsh', ['-c', 'qemu:///system', ...args], () => resolve()));
