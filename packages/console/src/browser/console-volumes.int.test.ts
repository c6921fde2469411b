import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bringUp, type Environment } from '@strata/demo/demo';
import { buildQcow2Vm } from '@strata/demo/qcow2-vm';
import { discardVm } from '@strata/demo/discard-vm';
import { guestExec, waitForGuestAgent } from '@strata/testing';
import { chromiumMissing, launchChromium } from './chromium.js';
import { jobEnds, LONG, logIn, SHOTS, shownJob } from './harness.js';

// The volumes page in real headless Chromium against a real server, agent and guest: create a
// volume with QoS, attach it to the running guest, change its QoS (read back from QEMU), write to it in the guest and see the IOPS graph
// rise (sampled by the host's agent), detach it, resize it (a shrink refused with its code).
test(
  'the web console manages a volume: create, attach, live IOPS from the guest, detach, resize',
  { timeout: 600_000 },
  async (t) => {
    const missing = chromiumMissing();
    if (missing) return t.skip(missing);
    const root = await mkdtemp(join(tmpdir(), 'strata-console-volumes-'));
    const children: ChildProcess[] = [];
    const lines: string[] = [];
    let env: Environment | undefined;
    let vmId: string | undefined;
    let volumeId: string | null = null;
    const browser = await launchChromium();
    const saved = process.env['STRATA_DEMO_CEPH'];
    process.env['STRATA_DEMO_CEPH'] = '0'; // qcow2 disks only: the console is under test, not Ceph
    try {
      await mkdir(SHOTS, { recursive: true });
      const port = 25_000 + Math.floor(Math.random() * 1000);
      const t0 = Date.now();
      const mark = (what: string) => lines.push(`${Math.round((Date.now() - t0) / 1000)} s: ${what}`);
      env = await bringUp({
        root,
        port,
        agentPort: port + 1000,
        detached: false,
        log: (l) => lines.push(l),
        track: (c) => children.push(c),
      });
      const { rest, url } = env;
      const { vm } = await buildQcow2Vm(rest, env.cloud, (l) => lines.push(l), { name: 'volumes <vm>' });
      vmId = vm.id;
      mark('VM running');
      const me = await rest.get<{ accountId: string }>('/v1/auth/whoami');
      const operator = {
        username: `vol-op-${Math.random().toString(36).slice(2, 6)}`,
        password: 'operator secret 1',
      };
      await rest.post(`/v1/accounts/${me.accountId}/users`, { ...operator, role: 'admin' });

      const page = await browser.context.newPage();
      await logIn(page, url, operator.username, operator.password);
      await page.click('nav >> text=Volumes');
      await page.click('text=Create volume…');
      const name = `scratch <'x'> "1"`;
      await page.fill('input[name=create-name]', name);
      await page.selectOption('select[name=create-pool]', env.cloud.pools.qcow2);
      await page.fill('input[name=create-gib]', '1');
      await page.fill('input[name=create-minIops]', '20');
      await page.fill('input[name=create-maxIops]', '300');
      await page.fill('input[name=create-burstIops]', '600');
      await page.fill('input[name=create-burstSeconds]', '10');
      await page.click('form.create-volume button[type=submit]');
      assert.match(await page.locator('.create-volume .confirm').innerText(), /20 \/ 300 \/ 600 for 10 s/);
      await page.click('text=Confirm create');
      await jobEnds(page, '.create-volume', null);
      const link = page.locator(`table.disks a:text-is(${JSON.stringify(name)})`);
      await link.waitFor({ timeout: LONG });
      await link.click();
      await page.waitForSelector('.volume-detail table.facts');
      volumeId = await page.locator('.volume-detail').getAttribute('data-volume-id');
      await page.locator('.iops-summary', { hasText: 'not attached' }).waitFor({ timeout: 30_000 });
      // the backend is shown beside the pool
      await page.locator('table.facts td', { hasText: /^qcow2$/ }).waitFor({ timeout: 30_000 });
      mark('volume created');

      // Attach to the running guest; the page shows the device it got.
      await page.click('text=Attach…');
      await page.selectOption('select[name=attach-vm]', vm.id);
      await page.click('form.action button[type=submit]');
      await page.click('text=Confirm attach');
      await jobEnds(page, '.volume-actions', null);
      const device = page.locator('[data-testid=volume-vm] span.mono');
      await device.waitFor({ timeout: LONG });
      const dev = (await device.innerText()).trim();
      assert.match(dev, /^vd[a-z]$/);
      mark(`attached as ${dev}`);

      // QoS changed on this page: QEMU's read-back shown, and the graph's lines follow.
      await page.click('button:text-is("Edit QoS")');
      await page.fill('input[name=maxIops]', '400');
      await page.fill('input[name=burstIops]', '800');
      await page.click('text=Apply');
      await jobEnds(page, '.qos-editor', null);
      const readBack = page.locator('[data-testid=qos-readback]');
      await readBack.waitFor({ timeout: LONG });
      assert.match(await readBack.innerText(), /total IOPS 400, burst 800 for 10 s/);
      await page
        .locator('.iops-summary', { hasText: 'QoS min 20 / max 400 / burst 800' })
        .waitFor({ timeout: 30_000 });
      await page.click('button:text-is("Edit QoS")');

      // Direct 4 KiB writes in the guest (through its agent) reach the graph: QEMU lets them run at
      // the burst for its 10 s, then holds them at the max. The host samples every 2 s.
      await waitForGuestAgent(vm.id, LONG);
      const out = await guestExec(
        vm.id,
        `for i in 1 2 3 4 5 6 7 8 9 10; do dd if=/dev/zero of=/dev/${dev} bs=4096 count=1000 seek=$((i*1000)) oflag=direct 2>/dev/null || dd if=/dev/zero of=/dev/${dev} bs=4096 count=1000 seek=$((i*1000)) conv=fsync 2>/dev/null; done; echo wrote`,
        120_000,
      );
      assert.match(out.stdout, /wrote/, out.stderr);
      await page.waitForFunction(
        () => Number(document.querySelector('[data-testid=iops-graph]')?.getAttribute('data-peak')) > 0,
        null,
        { timeout: 60_000 },
      );
      assert.match(await page.locator('.iops-summary').innerText(), /QoS min 20 \/ max 400 \/ burst 800/);
      await page.waitForTimeout(2500); // one more refresh so the drawing has the last interval
      await page.locator('[data-testid=iops-graph]').screenshot({ path: join(SHOTS, 'volume-iops.png') });
      const api = await rest.get<{ points: { iops: number }[] }>(`/v1/volumes/${volumeId}/iops`);
      assert.ok(Math.max(...api.points.map((p) => p.iops)) > 0, 'the API shows the writes too');
      mark('IOPS seen');

      // Detach, then resize: each confirmed, each a job; a shrink is refused with its code.
      let previous = await shownJob(page, '.volume-actions');
      await page.click('text=Detach…');
      await page.click('form.action button[type=submit]');
      await page.click('text=Confirm detach');
      await jobEnds(page, '.volume-actions', previous);
      await page.locator('[data-testid=volume-vm]', { hasText: 'nothing' }).waitFor({ timeout: LONG });
      await page.locator('.iops-summary', { hasText: 'not attached' }).waitFor({ timeout: 30_000 });
      await page.click('text=Resize…');
      await page.fill('input[name=resize-gib]', '0.5');
      await page.click('form.action button[type=submit]');
      await page.click('text=Confirm resize');
      const refused = page.locator('.volume-actions > .error');
      await refused.waitFor({ timeout: 30_000 });
      assert.match(await refused.innerText(), /STORAGE_SHRINK_REFUSED/);
      previous = await shownJob(page, '.volume-actions');
      await page.fill('input[name=resize-gib]', '2');
      await page.click('form.action button[type=submit]');
      await page.click('text=Confirm resize');
      await refused.waitFor({ state: 'detached', timeout: 30_000 });
      await jobEnds(page, '.volume-actions', previous);
      await page.locator('[data-testid=volume-size]', { hasText: '2.0 GiB' }).waitFor({ timeout: LONG });
      // The route behind the graph: a detached volume has no samples and says why; another
      // account's user cannot read it at all.
      const detached = await rest.get<{ points: unknown[]; reason: string }>(`/v1/volumes/${volumeId}/iops`);
      assert.deepEqual(detached.points, []);
      assert.match(detached.reason, /not attached/);
      const sfx = Math.random().toString(36).slice(2, 6);
      const other = await rest.post<{ id: string }>('/v1/accounts', { name: `other ${sfx}`, role: 'user' });
      const tenant = { username: `vol-tenant-${sfx}`, password: 'tenant secret 1' };
      await rest.post(`/v1/accounts/${other.id}/users`, tenant);
      const login = (await (
        await fetch(`${url}/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(tenant),
        })
      ).json()) as { token: string };
      const hidden = await fetch(`${url}/v1/volumes/${volumeId}/iops`, {
        headers: { authorization: `Bearer ${login.token}` },
      });
      assert.equal(hidden.status, 404);
      assert.equal(((await hidden.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
      mark('detached and resized');
    } catch (e) {
      process.stderr.write(lines.slice(-30).join('\n') + '\n');
      for (const [i, p] of browser.context.pages().entries())
        process.stderr.write(
          `page ${i} ${p.url()}:\n${await p
            .locator('body')
            .innerText()
            .catch(() => '?')}\n`,
        );
      throw e;
    } finally {
      process.stderr.write(lines.filter((l) => / s: /.test(l)).join('\n') + '\n');
      if (saved === undefined) delete process.env['STRATA_DEMO_CEPH'];
      else process.env['STRATA_DEMO_CEPH'] = saved;
      await browser.close();
      if (volumeId) await env?.rest.runDelete(`/v1/volumes/${volumeId}`).catch(() => undefined);
      await discardVm(env?.rest, vmId);
      for (const c of children) c.kill('SIGTERM');
      await rm(root, { recursive: true, force: true }).catch(() => undefined);
    }
  },
);
