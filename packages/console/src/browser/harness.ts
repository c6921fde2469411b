import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { bringUp, type Environment } from '@strata/demo/demo';
import { discardVm } from '@strata/demo/discard-vm';
import { launchChromium } from './chromium.js';

/** Where the browser tests' screenshots go: docs/console.md shows them. */
export const SHOTS = fileURLToPath(new URL('../../../../docs/console/', import.meta.url));
// Generous: a TCG guest restarting on a machine shared with other suites may take minutes.
export const LONG = 360_000;

export async function logIn(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(url);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('header >> text=Log out');
}

/** Waits for the next job shown in `scope` to end; a failed one fails the test with its coded error. */
export async function jobEnds(page: Page, scope: string, previous: string | null): Promise<void> {
  const not = previous ? `:not([data-job-id="${previous}"])` : '';
  // A refusal (its coded error line) ends the wait too: the test then fails with it.
  const done = page.locator(
    `${scope} .job[data-state=Succeeded]${not}, ${scope} .job[data-state=Failed]${not}, ${scope} > .error`,
  );
  await done.first().waitFor({ timeout: LONG });
  const state = await done.first().getAttribute('data-state');
  assert.equal(state, 'Succeeded', await done.first().innerText());
}

export const shownJob = (page: Page, scope: string) =>
  page
    .locator(`${scope} .job[data-job-id]`)
    .first()
    .getAttribute('data-job-id', { timeout: 1000 })
    .catch(() => null);

/** A real server, agent and pools (qcow2 and tgt; no Ceph) and a headless Chromium beside them. */
export interface ConsoleRig {
  readonly env: Environment;
  readonly context: BrowserContext;
  /** Timestamped progress for the log. */
  readonly mark: (what: string) => void;
  /** A line for the log printed when the test fails. */
  readonly log: (line: string) => void;
  /** VMs to discard at the end. */
  readonly vms: string[];
  /** Prints what failed and what the pages showed; tears everything down. */
  readonly finish: (failure?: unknown) => Promise<void>;
}

export async function startConsole(): Promise<ConsoleRig> {
  const root = await mkdtemp(join(tmpdir(), 'strata-console-'));
  const children: ChildProcess[] = [];
  const lines: string[] = [];
  const vms: string[] = [];
  const t0 = Date.now();
  const mark = (what: string) => lines.push(`${Math.round((Date.now() - t0) / 1000)} s: ${what}`);
  const browser = await launchChromium();
  const saved = process.env['STRATA_DEMO_CEPH'];
  process.env['STRATA_DEMO_CEPH'] = '0'; // qcow2 disks only: the console is under test, not Ceph
  const restore = () => {
    if (saved === undefined) delete process.env['STRATA_DEMO_CEPH'];
    else process.env['STRATA_DEMO_CEPH'] = saved;
  };
  let env: Environment | undefined;
  const finish = async (failure?: unknown) => {
    if (failure !== undefined) {
      process.stderr.write(lines.slice(-30).join('\n') + '\n');
      // What the browser showed when it failed, for the log.
      for (const [i, p] of browser.context.pages().entries())
        process.stderr.write(
          `page ${i} ${p.url()}:\n${await p
            .locator('body')
            .innerText()
            .catch(() => '?')}\n`,
        );
    }
    process.stderr.write(lines.filter((l) => / s: /.test(l)).join('\n') + '\n');
    restore();
    await browser.close();
    for (const id of vms) await discardVm(env?.rest, id);
    for (const c of children) c.kill('SIGTERM');
    await rm(root, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    await mkdir(SHOTS, { recursive: true });
    const port = 23_000 + Math.floor(Math.random() * 1000);
    env = await bringUp({
      root,
      port,
      agentPort: port + 1000,
      detached: false,
      log: (l) => lines.push(l),
      track: (c) => children.push(c),
    });
    mark('server, agent and pools up');
  } catch (e) {
    await finish(e);
    throw e;
  }
  return { env, context: browser.context, mark, log: (l) => lines.push(l), vms, finish };
}

/** An operator (a user with role admin in the bootstrap admin's account) and a tenant in an account of its own. */
export async function usersFor(env: Environment): Promise<{
  operator: { username: string; password: string };
  tenant: { username: string; password: string };
}> {
  const { rest } = env;
  const me = await rest.get<{ accountId: string }>('/v1/auth/whoami');
  const sfx = Math.random().toString(36).slice(2, 6);
  const operator = { username: `operator-${sfx}`, password: 'operator secret 1' };
  await rest.post(`/v1/accounts/${me.accountId}/users`, { ...operator, role: 'admin' });
  const tenantAccount = await rest.post<{ id: string }>('/v1/accounts', {
    name: `tenant ${sfx}`,
    role: 'user',
  });
  const tenant = { username: `tenant-${sfx}`, password: 'tenant secret 1' };
  await rest.post(`/v1/accounts/${tenantAccount.id}/users`, tenant);
  return { operator, tenant };
}
