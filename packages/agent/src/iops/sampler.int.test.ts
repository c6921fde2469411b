import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureLibvirt, guestExec, uniqueName } from '@strata/testing';
import { HostAgent } from '../host-agent.js';
import { startGuestVm } from '../test-support/guest-vm.js';

// The sampler against a real guest: writes in the guest show as IOPS on the disk they went to,
// read through the same command the server sends (disk.iops), and a stopped guest's windows go.
void test(
  'disk.iops: the host samples a real guest, its writes show as IOPS on their disk',
  { timeout: 240_000 },
  async () => {
    await ensureLibvirt();
    const name = uniqueName('agent-iops');
    const home = await mkdtemp(join(tmpdir(), 'strata-iops-'));
    const agent = new HostAgent({
      initiatorFile: join(home, 'initiatorname.iscsi'),
      iops: { periodMs: 1000, windowMs: 60_000, idlePeriodMs: 1000 },
    });
    await agent.start();
    const vm = await startGuestVm({ name, agent });
    try {
      const data = await vm.makeImage('data.qcow2', 'qcow2', '64M');
      await agent.attachDisk(vm.name, {
        volumeId: 'vol-iops',
        target: 'vdb',
        source: { kind: 'file', path: data, format: 'qcow2' },
      });
      const out = await guestExec(
        vm.name,
        'for i in 1 2 3 4 5; do dd if=/dev/zero of=/dev/vdb bs=4096 count=400 seek=$((i*400)) conv=fsync 2>/dev/null; sleep 1; done; echo ok',
        60_000,
      );
      assert.match(out.stdout, /ok/);
      await new Promise((r) => setTimeout(r, 2500));
      const w = agent.iops!.window(vm.name, 'vdb');
      assert.equal(w.periodMs, 1000);
      const raw = await agent.virsh.run(['domstats', '--block', '--list-running']);
      assert.ok(w.points.length >= 3, `a few points: ${JSON.stringify(w)}\n${raw}`);
      const top = Math.max(...w.points.map((p) => p.writeIops));
      assert.ok(top > 10, `the guest's writes show: top ${top} write IOPS`);
      for (const p of w.points) assert.ok(Math.abs(p.iops - (p.readIops + p.writeIops)) < 0.2);
      assert.match(agent.iops!.window(vm.name, 'vdz').reason ?? '', /no disk vdz/);
      // the guest stops: its windows go
      await agent.destroyVm(vm.name);
      await new Promise((r) => setTimeout(r, 2500));
      assert.deepEqual(agent.iops!.window(vm.name, 'vdb').points, []);
      assert.match(agent.iops!.window(vm.name, 'vdb').reason ?? '', /not running/);
    } finally {
      await vm.dispose();
      await agent.close();
      await rm(home, { recursive: true, force: true });
    }
  },
);
