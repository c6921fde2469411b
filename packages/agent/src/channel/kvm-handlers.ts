import type { HostAgent } from '../host-agent.js';
import type { LibvirtEvent } from '../events/parse-event.js';
import type { CommandHandlers } from './dispatcher.js';
import type { AgentChannel } from './agent-channel.js';
import { removeSecret, setSecret } from './secret-set.js';

/**
 * The channel's commands mapped onto the KVM core. Results are the core's own result objects
 * (a superset of the wire types). A pause, like a freeze, is bounded by a detached watchdog armed
 * before it (guest/pause.ts): it ends at its deadline even if this process dies.
 */
export function kvmHandlers(kvm: HostAgent): CommandHandlers {
  return {
    'vm.pause': ({ vm, deadlineMs }) => kvm.pause(vm, deadlineMs),
    'vm.resume': ({ vm }) => kvm.resume(vm),
    'host.facts': () => kvm.hostFacts(),
    'host.report': () => kvm.stateReport(),
    'vm.define': (spec) => kvm.defineVm(spec),
    'vm.start': async ({ vm }) => ({ state: await kvm.startVm(vm) }),
    'vm.stop': ({ vm, timeoutMs }) => kvm.stopVm(vm, timeoutMs),
    'vm.destroy': ({ vm }) => kvm.destroyVm(vm),
    'vm.list': async () => ({ domains: (await kvm.stateReport()).domains }),
    'vm.state': ({ vm }) => kvm.vmState(vm),
    'disk.attach': ({ vm, disk, live }) => kvm.attachDisk(vm, disk, { live }),
    'disk.detach': ({ vm, target, live }) => kvm.detachDisk(vm, target, { live }),
    'guest.freeze': ({ vm, deadlineMs }) => kvm.freeze(vm, deadlineMs),
    'guest.thaw': ({ vm }) => kvm.thaw(vm),
    'snapshot.diskOnly': ({ vm, disks, quiesce, deadlineMs }) =>
      kvm.diskOnlySnapshot(vm, disks, { quiesce, ...(deadlineMs !== undefined && { deadlineMs }) }),
    'snapshot.heldCut': ({ vm, hold, deadlineMs, disks }) => kvm.heldCut(vm, hold, deadlineMs, disks),
    'snapshot.memory': ({ vm, memoryPath, disks }) => kvm.memorySnapshot(vm, memoryPath, disks),
    'vm.restore': ({ vm, memoryPath, files, disks }) =>
      kvm.restoreFromMemory(vm, memoryPath, files, disks ?? []),
    'vm.migrate': ({ vm, destUri, migrateUri, unsafe, disks }, ctx) =>
      kvm.migrate({
        vm,
        destUri,
        unsafe,
        disks,
        ...(migrateUri !== undefined && { migrateUri }),
        timeoutMs: ctx.timeoutMs,
      }),
    'snapshot.blockCommit': ({ vm, target }, ctx) => kvm.blockCommit(vm, target, ctx.timeoutMs),
    'snapshot.blockStream': ({ vm, target, base }, ctx) => kvm.blockStream(vm, target, ctx.timeoutMs, base),
    'snapshot.internal': ({ vm, op, name }) => kvm.internalSnapshot(vm, op, name),
    'iotune.set': async ({ vm, target, iotune }) => (await kvm.setIoTune(vm, target, iotune)).iotune,
    'iotune.get': ({ vm, target }) => kvm.getIoTune(vm, target),
    'disk.iops': ({ vm, target }) =>
      kvm.iops?.window(vm, target) ?? {
        periodMs: 0,
        windowMs: 0,
        points: [],
        reason: 'this agent does not sample block statistics',
      },
    'secret.set': (params) => setSecret(kvm.virsh, params),
    'secret.remove': (params) => removeSecret(kvm.virsh, params),
  };
}

/**
 * Streams the core's libvirt events to the server, and after any lifecycle or block-job change a
 * fresh state report (debounced), so the server's last-known state stays close to the truth.
 */
export function forwardKvmEvents(kvm: HostAgent, channel: AgentChannel, reportDelayMs = 500): () => void {
  let timer: NodeJS.Timeout | undefined;
  const reportSoon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void channel.sendReport().catch(() => undefined), reportDelayMs);
  };
  const onEvent = (e: LibvirtEvent) => {
    switch (e.kind) {
      case 'lifecycle':
        channel.emitEvent('vm.lifecycle', { vm: e.vm, event: e.event, detail: e.detail });
        reportSoon();
        return;
      case 'block-job':
        channel.emitEvent('block.job', { vm: e.vm, disk: e.disk, jobType: e.jobType, status: e.status });
        reportSoon();
        return;
      case 'agent-lifecycle':
        channel.emitEvent('guest.agent', { vm: e.vm, state: e.state, reason: e.reason });
        return;
      case 'other':
        channel.emitEvent('libvirt.other', { vm: e.vm, name: e.name, detail: e.detail });
    }
  };
  const onThawed = (t: { vm: string; reason: 'requested' | 'deadline'; frozenForMs: number }) => {
    channel.emitEvent('guest.thawed', t);
    reportSoon();
  };
  const onResumed = (r: { vm: string; reason: 'requested' | 'deadline'; pausedForMs: number }) => {
    channel.emitEvent('vm.resumed', r);
    reportSoon();
  };
  kvm.on('event', onEvent);
  kvm.on('thawed', onThawed);
  kvm.on('resumed', onResumed);
  return () => {
    clearTimeout(timer);
    kvm.off('event', onEvent);
    kvm.off('thawed', onThawed);
    kvm.off('resumed', onResumed);
  };
}
