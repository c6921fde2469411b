import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { buildQcow2Vm } from '@strata/demo/qcow2-vm';
import { chromiumMissing } from './chromium.js';
import { jobEnds, LONG, logIn, SHOTS, shownJob, startConsole, usersFor } from './harness.js';

/** Takes a snapshot through the form and its confirmation; waits for its job to succeed on the page. */
async function take(page: Page, name: string): Promise<void> {
  await page.fill('input[name=snapshot-name]', name);
  await page.selectOption('select[name=quiesce]', 'none');
  await page.waitForFunction(
    () => !document.querySelector<HTMLButtonElement>('form.take button[type=submit]')?.disabled,
    null,
    { timeout: LONG },
  );
  const previous = await shownJob(page, '.snapshots');
  await page.click('form.take button[type=submit]');
  await page.click('text=Confirm take');
  await jobEnds(page, '.snapshots', previous);
  await page.waitForSelector(`.tree .node[data-current=true] .node-name:text-is("${name}")`, {
    timeout: LONG,
  });
}

// The console in real headless Chromium against a real server, agent and guest: log in, take
// snapshots and watch their jobs, revert (refused while running, then with a restart), the tree
// branching, a QoS change read back from QEMU, a tenant who cannot see the VM, logout and expiry.
test(
  'the web console drives a real VM: snapshots, revert, tree, QoS read-back, tenants',
  { timeout: 900_000 },
  async (t) => {
    const missing = chromiumMissing();
    if (missing) return t.skip(missing);
    const rig = await startConsole();
    const { env, mark } = rig;
    const browser = { context: rig.context };
    let failure: unknown;
    try {
      const { rest, url } = env;
      const { vm } = await buildQcow2Vm(rest, env.cloud, rig.log, {
        name: `console <vm> "one"`,
      });
      rig.vms.push(vm.id);
      mark('VM running');
      const { operator, tenant } = await usersFor(env);

      const page = await browser.context.newPage();
      await page.goto(url);
      await page.waitForSelector('form[aria-label="log in"]');
      await page.screenshot({ path: join(SHOTS, 'login.png') });
      await logIn(page, url, operator.username, operator.password);
      await page.waitForSelector('text=Storage pools');
      await page.waitForSelector('td >> text=Up', { timeout: LONG }).catch(() => undefined);
      assert.ok(
        (await page.locator('section:has(h2:text("Hosts")) tbody tr').count()) >= 1,
        'the operator sees the hosts',
      );
      await page.screenshot({ path: join(SHOTS, 'overview.png'), fullPage: true });
      mark('logged in, overview');

      await page.click('nav >> text=VMs');
      await page.click(`tr[data-vm-id="${vm.id}"] a`);
      await page.waitForSelector('table.disks tbody tr');
      assert.equal(await page.locator('table.disks tbody tr').count(), 2, 'both disks are listed');
      assert.match(await page.locator('table.disks').innerText(), /qcow2/, 'each disk shows its backend');

      await take(page, 's1 <first>');
      await take(page, "s2 'second'");
      mark('two snapshots');
      // Running, disk-only: the revert is refused with the API's reason until a restart is allowed.
      const s1 = page.locator('.tree .node:has(.node-name:text-is("s1 <first>"))');
      assert.equal(await s1.locator('button:text("Revert")').isDisabled(), true);
      assert.match(await s1.locator('.reason').innerText(), /REVERT_NEEDS_STOP/);
      await page.check('text=allow a revert to restart a running VM');
      const beforeRevert = await shownJob(page, '.snapshots');
      await s1.locator('button:text("Revert")').click();
      await page.click('text=Confirm revert');
      await jobEnds(page, '.snapshots', beforeRevert);
      await page.waitForSelector('.tree .node[data-current=true] .node-name:text-is("s1 <first>")', {
        timeout: LONG,
      });
      mark('reverted');
      await take(page, 's3 after revert');
      // The tree now branches at s1: s2 and s3 both name it their parent, s3 is where the VM is.
      const s1Id = await s1.getAttribute('data-snapshot-id');
      assert.equal(
        await page.locator(`.tree .node[data-parent-id="${s1Id}"]`).count(),
        2,
        's1 has two children',
      );
      await page
        .locator('section:has(h2:text("Snapshots"))')
        .screenshot({ path: join(SHOTS, 'snapshot-tree.png') });

      // QoS of the data disk: the job applies it and the page shows what QEMU read back.
      const data = page.locator('table.disks tbody tr:has-text("(DATA)")');
      await data.locator('button:text("Edit QoS")').click();
      await page.fill('input[name=minIops]', '50');
      await page.fill('input[name=maxIops]', '432');
      await page.fill('input[name=burstIops]', '864');
      await page.fill('input[name=burstSeconds]', '10');
      await page.click('text=Apply');
      await jobEnds(page, '.qos-editor', null);
      const readBack = page.locator('[data-testid=qos-readback]');
      await readBack.waitFor({ timeout: LONG });
      assert.match(await readBack.innerText(), /total IOPS 432, burst 864 for 10 s/);
      // the disks table reloads after the job: wait for it rather than read it at once
      await data.locator('td.qos', { hasText: /50 \/ 432/ }).waitFor({ timeout: LONG });
      await page.screenshot({ path: join(SHOTS, 'vm-detail.png'), fullPage: true });
      mark('QoS read back');

      // Readable on a phone-sized screen too.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: join(SHOTS, 'phone-vm.png') });
      await page.setViewportSize({ width: 1280, height: 800 });

      // The volumes page lists the same disk with the QoS now recorded.
      await page.click('nav >> text=Volumes');
      const listed = page.locator(`tr[data-volume-id="${await data.getAttribute('data-volume-id')}"] td.qos`);
      await listed.waitFor({ timeout: LONG });
      assert.match(await listed.innerText(), /50 \/ 432 \/ 864 for 10 s/);

      await page.click('nav >> text=Jobs');
      await page.waitForSelector('tr[data-job-id]');
      await page.screenshot({ path: join(SHOTS, 'jobs.png') });

      // A tenant (own tab, own session) sees neither the VM in its list nor its page.
      const other = await browser.context.newPage();
      await logIn(other, url, tenant.username, tenant.password);
      assert.equal(await other.locator('text=Storage pools').count(), 0, 'no operator panels for a tenant');
      await other.click('nav >> text=VMs');
      await other.waitForSelector('table.vms');
      assert.equal(await other.locator(`tr[data-vm-id="${vm.id}"]`).count(), 0);
      await other.goto(`${url}/#/vms/${vm.id}`);
      await other.waitForSelector('.error', { timeout: LONG });
      assert.match(await other.locator('.error').first().innerText(), /NOT_FOUND|FORBIDDEN/);

      // Logout ends the token on the server; an expired session goes back to the login form.
      const token = await other.evaluate(
        () => (JSON.parse(sessionStorage.getItem('strata.session')!) as { token: string }).token,
      );
      await other.click('text=Log out');
      await other.waitForSelector('form[aria-label="log in"]');
      const after = await fetch(`${url}/v1/auth/whoami`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(after.status, 401, 'the logged-out token is refused');
      await page.evaluate(() => {
        const s = JSON.parse(sessionStorage.getItem('strata.session')!) as { expiresAt: string };
        sessionStorage.setItem(
          'strata.session',
          JSON.stringify({ ...s, expiresAt: new Date(Date.now() - 1000).toISOString() }),
        );
      });
      await page.reload();
      await page.waitForSelector('form[aria-label="log in"]');
    } catch (e) {
      failure = e;
      throw e;
    } finally {
      await rig.finish(failure);
    }
  },
);
