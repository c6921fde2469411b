import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { MiB, type StorageContext } from '@strata/core';
import { TgtDriver } from '@strata/driver-tgt';
import {
  ensureReflinkPool,
  readWriterLog,
  recordsForSerial,
  startOwnTgtd,
  uniqueName,
} from '@strata/testing';
import { HostAgent } from '../host-agent.js';
import { makeFailingDisk, type FailingDisk } from '../test-support/failing-disk.js';
import { startGuestVm, waitForConsole, type GuestVm } from '../test-support/guest-vm.js';

const ctx: StorageContext = { signal: new AbortController().signal };
const GUEST_ERRORS = /I\/O error|Buffer I\/O|EXT4-fs error|blk_update_request/;

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(500);
  }
}

void test(
  'storage lost under a writing guest: tgtd killed and restarted, then an NBD server killed (EIO) and restarted; the guest sees no error, is never left paused, and writes on',
  { timeout: 900_000 },
  async () => {
    const tag = randomBytes(3).toString('hex');
    // a tgtd of this test's own: killing it touches no one else's targets
    const tgtd = await startOwnTgtd(600 + (randomBytes(2).readUInt16BE() % 400));
    const root = join((await ensureReflinkPool()).mountPoint, `ioerr-${tag}`);
    const driver = new TgtDriver(`ioerr-${tag}`, {
      root,
      portal: tgtd.portal,
      capacityIops: 0,
      controlPort: tgtd.controlPort,
      watchIntervalMs: 1000,
    });
    const name = uniqueName('agent-ioerr');
    const initiatorFile = join('/var/tmp', `${name}.initiatorname`);
    const agent = new HostAgent({ initiatorFile, ioErrorResume: { intervalMs: 1000, maxBackoffMs: 4000 } });
    await agent.start();
    const resumed: Array<{ vm: string }> = [];
    agent.on('io-error-resumed', (t: { vm: string }) => resumed.push(t));
    const iscsiVolume = `ioerr-${tag}`;
    let guest: GuestVm | null = null;
    let failing: FailingDisk | null = null;
    try {
      const vm = (guest = await startGuestVm({ name, agent }));
      const state = async () =>
        (await agent.virsh.run(['domstate', '--domain', vm.name, '--reason'], { vm: vm.name })).trim();
      await driver.createVolume(ctx, { volumeId: iscsiVolume, sizeBytes: 16 * MiB });
      const host = { id: 'h', iscsiInitiator: await agent.initiatorName() };
      await driver.grantAccess(ctx, { volumeId: iscsiVolume, host });
      const c = (await driver.connectionInfo(ctx, { volumeId: iscsiVolume, host })).connection;
      if (c.adaptor !== 'iscsi') throw new Error(`expected iscsi, got ${c.adaptor}`);
      await agent.attachDisk(vm.name, {
        volumeId: iscsiVolume,
        target: 'vdb',
        source: { kind: 'iscsi', portal: c.portal, iqn: c.iqn, lun: c.lun, initiatorIqn: c.initiator },
      });
      failing = await makeFailingDisk(vm.dir);
      await failing.attach(agent.virsh, vm.name, 'vdc', 'vol-failing');
      await waitForConsole(vm, /disk-added vdc/, 60_000);
      const onIscsi = async () =>
        recordsForSerial(await readWriterLog(driver.store.volumeRaw(iscsiVolume)), iscsiVolume).length;
      const served = failing;
      const onFailing = async () =>
        recordsForSerial(await readWriterLog(served.backingFile), 'vol-failing').length;
      await waitFor(
        'the guest writes to both disks',
        120_000,
        async () => (await onIscsi()) >= 3 && (await onFailing()) >= 3,
      );

      // 1. tgtd killed: QEMU's iSCSI client waits for the target (its requests are not failed);
      // tgtd restarted: the driver re-makes the target by itself and the writes go on.
      await tgtd.kill();
      await sleep(5000);
      const stalled = await onIscsi();
      await tgtd.restart();
      await waitFor(
        'the iSCSI writes continue after tgtd is back',
        240_000,
        async () => (await onIscsi()) >= stalled + 3,
      );
      await waitFor('the guest runs', 60_000, async () => /^running/.test(await state()));

      // 2. the storage's server gone, its requests failed with EIO: the guest pauses (I/O error) rather than seeing it
      await served.fail();
      await waitFor('the guest pauses on the I/O error', 120_000, async () =>
        /paused \(I\/O error\)/.test(await state()),
      );
      const paused = await onFailing();
      await sleep(6000);
      assert.match(
        await state(),
        /paused \(I\/O error\)/,
        'still paused while the storage fails (resumes retried)',
      );
      await served.heal();
      await waitFor('the agent resumes the guest', 120_000, async () => /^running/.test(await state()));
      await waitFor('its writes continue', 120_000, async () => (await onFailing()) >= paused + 3);
      assert.ok(
        resumed.some((r) => r.vm === vm.name),
        'the agent reports the resume',
      );
      assert.doesNotMatch(await vm.console(), GUEST_ERRORS, 'no I/O error reached the guest');
    } finally {
      await guest?.dispose();
      await agent.close();
      await failing?.cleanup();
      await driver.deleteVolume(ctx, { volumeId: iscsiVolume }).catch(() => undefined);
      await driver.close();
      await tgtd.close();
      await rm(root, { recursive: true, force: true });
      await rm(initiatorFile, { force: true });
    }
  },
);
