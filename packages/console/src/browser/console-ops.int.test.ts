import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { Rest } from '@strata/demo/rest';
import { chromiumMissing } from './chromium.js';
import { jobEnds, LONG, logIn, SHOTS, startConsole, usersFor } from './harness.js';
import {
  cls,
  dialogTrapsFocus,
  focusIsVisible,
  noSidewaysScroll,
  onlyRealControls,
  resetCls,
  watchLayoutShifts,
} from './ops-checks.js';

const run = promisify(execFile);

/** Opens a page by its nav link and waits for its first answer (no placeholder left). */
async function open(page: Page, link: string, ready: string): Promise<void> {
  await page.click(`header nav >> text="${link}"`);
  await page.waitForSelector(ready, { timeout: LONG });
  await page.waitForFunction(() => !document.querySelector('.placeholder[aria-busy]'), null, {
    timeout: LONG,
  });
}

// The console's operations in real headless Chromium against a real server and agent: deploy a VM
// (with a data disk) through the form, migrate refused with the API's reason, a snapshot's size,
// host maintenance, the paged event log, orphans, accounts, users and API keys; keyboard, phone
// and dark layouts, and no layout shift while data loads.
test(
  'the web console deploys, migrates, maintains hosts and runs the operator pages',
  { timeout: 600_000 },
  async (t) => {
    const missing = chromiumMissing();
    if (missing) return t.skip(missing);
    const rig = await startConsole();
    const { env, mark } = rig;
    let failure: unknown;
    try {
      const { url, cloud } = env;
      const { operator, tenant } = await usersFor(env);
      const page = await rig.context.newPage();
      await watchLayoutShifts(page);
      await logIn(page, url, operator.username, operator.password);
      await focusIsVisible(page);
      mark('logged in');

      // Deploy: the form, its confirmation (focus trapped, Escape cancels), then the chained jobs.
      await open(page, 'VMs', 'table.vms');
      await page.click('text=Deploy a VM');
      await page.waitForSelector('form.deploy select[name=template] option', { state: 'attached' });
      const name = `ops <vm> "deploy"`;
      await page.fill('input[name=vm-name]', name);
      // tgt: its driver takes a stopped VM's snapshot parts and can size them (qcow2's are the hypervisor's)
      await page.selectOption('select[name=pool]', cloud.pools.tgt);
      await page.click('text=Add data disk');
      await page.fill('input[name=data-gib-0]', '0.0625');
      await page.screenshot({ path: join(SHOTS, 'deploy.png') });
      await page.click('form.deploy button[type=submit]');
      await dialogTrapsFocus(page);
      await page.click('form.deploy button[type=submit]');
      await page.click('text=Confirm deploy');
      await page.waitForURL(/#\/vms\/[^/]+$/, { timeout: LONG });
      const vmId = page.url().split('/').pop()!;
      rig.vms.push(vmId);
      await page.waitForSelector(`h1:has-text(${JSON.stringify(name)})`);
      await page.locator('table.disks tbody tr').nth(1).waitFor({ timeout: LONG });
      mark('deployed with a data disk');

      // Migrate: a Stopped VM cannot, and the button says why (the API's state machine).
      const migrate = page.locator('.migrate button:text("Migrate")');
      assert.equal(await migrate.isDisabled(), true);
      assert.match(await page.locator('.migrate .reason').innerText(), /Stopped.*only a Running VM migrates/);

      // A snapshot of the stopped VM, and its size as the backend tells it.
      await page.fill('input[name=snapshot-name]', 'sized');
      await page.selectOption('select[name=quiesce]', 'none');
      await page.waitForFunction(
        () => !document.querySelector<HTMLButtonElement>('form.take button[type=submit]')?.disabled,
        null,
        { timeout: LONG },
      );
      await page.click('form.take button[type=submit]');
      await page.click('text=Confirm take');
      await jobEnds(page, '.snapshots', null);
      const size = page.locator('.tree .node:has(.node-name:text-is("sized")) .size [data-size]');
      await size.waitFor({ timeout: LONG });
      const bytes = await size.getAttribute('data-size');
      assert.match(bytes ?? '', /^\d+$/, `a real size, not: ${await size.innerText()}`);
      assert.ok(Number(bytes) > 0);
      assert.match(await size.innerText(), /\d (B|KiB|MiB|GiB)$/);
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.screenshot({ path: join(SHOTS, 'dark-vm.png'), fullPage: true });
      await page.emulateMedia({ colorScheme: 'light' });
      mark('snapshot sized');

      // Host maintenance: prepare (a job), then cancel; each asks first, each disabled when it cannot run.
      await open(page, 'Hosts', 'table.hosts');
      const host = page.locator(`tr[data-host-id="${cloud.host.id}"]`);
      await page.waitForSelector(`tr[data-host-id="${cloud.host.id}"][data-state=Up]`, { timeout: LONG });
      assert.equal(await host.locator('button:text("Cancel maintenance")').isDisabled(), true);
      await host.locator('button:text("Prepare maintenance")').click();
      await page.click('text=Confirm prepare');
      await jobEnds(page, '.page', null);
      await page.waitForSelector(`tr[data-host-id="${cloud.host.id}"][data-state=Maintenance]`, {
        timeout: LONG,
      });
      await page.screenshot({ path: join(SHOTS, 'hosts.png') });
      await host.locator('button:text("End maintenance")').click();
      await page.click('text=Confirm cancel');
      await page.waitForSelector(`tr[data-host-id="${cloud.host.id}"][data-state=Up]`, { timeout: LONG });
      mark('host maintenance and back');

      // The event log, paged, newest first; no layout shift while it loads.
      await resetCls(page);
      await open(page, 'Events', 'table.events tbody tr');
      assert.ok((await cls(page)) < 0.1, `the event log shifted its layout by ${await cls(page)}`);
      const pager = page.locator('.pager span');
      const m = /page 1 of (\d+) \((\d+) events\)/.exec(await pager.innerText());
      assert.ok(m, await pager.innerText());
      assert.ok(Number(m[2]) > 0);
      if (Number(m[1]) > 1) {
        await page.click('.pager >> text=Next');
        await page.waitForSelector('.pager span:has-text("page 2 of")');
        await page.waitForSelector('table.events tbody tr');
      }
      await page.screenshot({ path: join(SHOTS, 'events.png') });
      mark('event log');

      // Orphans: a stray layer left beside the VM's ROOT volume is listed, then collected on confirmation.
      const root = (await env.rest.get<{ items: { id: string }[] }>('/v1/volumes', { vmId, type: 'ROOT' }))
        .items[0]!;
      await run('qemu-img', [
        'create',
        '-q',
        '-f',
        'qcow2',
        join(env.backends.qcow2Dir, `${root.id}.stray-overlay.qcow2`),
        '16M',
      ]);
      await open(page, 'Orphans', '.page h1:text("Orphans")');
      await page.waitForSelector('table.orphans tbody tr', { timeout: LONG });
      assert.match(await page.locator('table.orphans').innerText(), /stray-overlay/);
      await page.click('button:text("Collect")');
      await page.click('text=Confirm collect');
      await jobEnds(page, '.page', null);
      await page.waitForFunction(
        () => !/stray-overlay/.test(document.querySelector('table.orphans')?.textContent ?? ''),
        null,
        { timeout: LONG },
      );
      mark('orphans collected');

      // Accounts and users: create both; API keys: the secret shown once, then revoked.
      await open(page, 'Accounts', 'table.accounts');
      const account = `ops "acct" <${Date.now() % 1000}>`;
      await page.fill('input[name=account-name]', account);
      await page.click('text=Create account');
      await page.locator('table.accounts td', { hasText: account }).waitFor();
      await page.locator('table.accounts a', { hasText: account }).click();
      await page.waitForSelector('table.users');
      await page.fill('input[name=username]', 'ops-user');
      await page.fill('input[name=password]', 'ops user secret');
      await page.click('text=Create user');
      const userRow = page.locator('table.users tr:has-text("ops-user")');
      await userRow.waitFor();
      await userRow.locator('text=API keys').click();
      await page.waitForSelector('table.keys');
      await page.click('text=Issue a key for this user');
      const apiKey = await page.locator('[data-testid=new-api-key]').innerText();
      const secret = await page.locator('[data-testid=new-secret-key]').innerText();
      assert.ok(secret.length > 10);
      const asUser = new Rest(url, apiKey, secret);
      await asUser.get('/v1/auth/whoami');
      await page.keyboard.press('Escape');
      await page.locator(`tr[data-api-key="${apiKey}"]`).waitFor();
      assert.doesNotMatch(
        await page.locator('body').innerText(),
        new RegExp(secret),
        'the secret is shown once only',
      );
      await page.locator(`tr[data-api-key="${apiKey}"] button:text("Revoke")`).click();
      await page.click('text=Confirm revoke');
      await page.locator(`tr[data-api-key="${apiKey}"] button:text("Revoke")[disabled]`).waitFor();
      await assert.rejects(asUser.get('/v1/auth/whoami'), 'a revoked key no longer works');
      // Disable the user (asked first): its password no longer logs in; enabled again, it does.
      await page.goBack();
      await userRow.locator('button:text("Disable")').click();
      await page.click('text=Confirm disable');
      await userRow.locator('.badge:text("Disabled")').waitFor();
      const login = (password: string) =>
        fetch(`${url}/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'ops-user', password }),
        }).then((r) => r.status);
      assert.equal(await login('ops user secret'), 401, 'a disabled user cannot log in');
      await userRow.locator('button:text("Enable")').click();
      await userRow.locator('.badge:text("Enabled")').waitFor();
      assert.equal(await login('ops user secret'), 200);
      await onlyRealControls(page);
      mark('accounts, users, keys');

      // Readable at 1280×800 and 390×844 on every page, without sideways scrolling.
      for (const [w, h] of [
        [1280, 800],
        [390, 844],
      ] as const) {
        await page.setViewportSize({ width: w, height: h });
        for (const hash of [
          '#/',
          '#/vms',
          `#/vms/${vmId}`,
          '#/events',
          '#/hosts',
          '#/orphans',
          '#/accounts',
          '#/users',
          '#/keys',
          '#/jobs',
        ]) {
          await page.goto(`${url}/${hash}`);
          await page.waitForFunction(() => !document.querySelector('.placeholder[aria-busy]'), null, {
            timeout: LONG,
          });
          await noSidewaysScroll(page, `${hash} at ${w}×${h}`);
        }
      }
      await page.goto(`${url}/#/vms/${vmId}`);
      await page.waitForSelector('.tree .node');
      await page.screenshot({ path: join(SHOTS, 'phone-vm-ops.png') });
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.goto(`${url}/#/events`);
      await page.waitForSelector('table.events tbody tr');
      await page.screenshot({ path: join(SHOTS, 'phone-dark-events.png') });
      mark('viewports');

      // A tenant has no operator pages, and the API refuses them anyway.
      const other = await rig.context.newPage();
      await logIn(other, url, tenant.username, tenant.password);
      assert.equal(await other.locator('header nav >> text=Orphans').count(), 0);
      assert.equal(await other.locator('header nav >> text=Accounts').count(), 0);
      await other.goto(`${url}/#/orphans`);
      await other.waitForSelector('.error', { timeout: LONG });
      assert.match(await other.locator('.error').first().innerText(), /FORBIDDEN/);
      await other.goto(`${url}/#/vms`);
      await other.waitForSelector('table.vms');
      assert.equal(await other.locator('.migrate').count(), 0);
      mark('tenant');
    } catch (e) {
      failure = e;
      throw e;
    } finally {
      await rig.finish(failure);
    }
  },
);
