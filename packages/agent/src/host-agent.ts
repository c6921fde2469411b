import { EventEmitter } from 'node:events';
import type { AgentStateReport, DomainReport, DomainRunState, HostFacts, IoTune } from '@strata/core';
import { attachDisk, detachDisk, type AttachOptions, type DiskOpResult } from './disks/attach.js';
import { loginHostIscsi, logoutHostIscsi } from './disks/host-iscsi.js';
import { EventStream } from './events/event-stream.js';
import type { LibvirtEvent } from './events/parse-event.js';
import { FreezeManager, type FreezeResult, type ThawResult } from './guest/fsfreeze.js';
import { PauseManager, type PauseResult, type ResumeResult } from './guest/pause.js';
import { IoErrorResumer, type IoErrorResumeOptions } from './guest/io-error-resume.js';
import { collectHostFacts } from './host/host-facts.js';
import { DEFAULT_INITIATOR_FILE, ensureInitiatorName } from './host/initiator-name.js';
import { defineSecret, undefineSecret, type SecretUsage } from './host/secrets.js';
import { getIoTune, setIoTune, type IoTuneResult } from './qos/iotune.js';
import { BlockSampler, type BlockSamplerOptions } from './iops/sampler.js';
import { BlockJobs, type BlockJobResult } from './snapshots/block-jobs.js';
import { DiskTargets } from './snapshots/disk-targets.js';
import {
  diskOnlySnapshot,
  memorySnapshot,
  type DiskSnapshotResult,
  type MemorySnapshotResult,
} from './snapshots/external.js';
import { migrateVm, type MigrateRequest } from './vm/migrate.js';
import { heldCut, type CutHold, type HeldCutResult } from './snapshots/held-cut.js';
import { internalSnapshot, type InternalSnapshotResult } from './snapshots/internal.js';
import { revertExternal, type RevertDisk, type RevertResult } from './snapshots/revert.js';
import { restoreFromMemory, type RestoreResult } from './snapshots/restore.js';
import type { RestoreFile } from './snapshots/restore-xml.js';
import type { OverlaySpec } from './snapshots/snapshot-xml.js';
import type { AgentDiskSpec, AgentVmSpec, DomainOptions, HostIscsiDiskSource } from './types.js';
import { Virsh, type VirshOptions } from './virsh/virsh.js';
import { domainReport, domainReports, parseBlockList } from './vm/domain-state.js';
import {
  defineFromTemplate,
  defineVm,
  destroyVm,
  startVm,
  stopVm,
  type TemplateVmSpec,
} from './vm/lifecycle.js';

export interface HostAgentOptions extends VirshOptions {
  /** Domain settings of this host (TCG here: DESIGN.md section 6). */
  readonly domain?: DomainOptions;
  /** Where the host's iSCSI initiator name is read or persisted. */
  readonly initiatorFile?: string;
  /** Where holds (freezes, pauses) are recorded so a restarted agent takes them over (default /run/strata-agent/holds). */
  readonly holdDir?: string;
  /** How guests paused on an I/O error are resumed once their storage is back. */
  readonly ioErrorResume?: IoErrorResumeOptions;
  /** How each running guest's block counters are sampled for `disk.iops`; false: not at all. */
  readonly iops?: BlockSamplerOptions | false;
}

/**
 * The agent's KVM core: every libvirt and QEMU action the server can ask of a host, as a library
 * the agent channel exposes. One virsh runner, ONE long-lived event stream, and the freeze
 * manager whose deadline holds even if this process dies.
 *
 * Emits `event` (LibvirtEvent), `thawed` ({ vm, reason, frozenForMs }), `resumed`
 * ({ vm, reason, pausedForMs }), `io-error-resumed` ({ vm, attempts, pausedForMs }),
 * `io-error-resume-failed` ({ vm, err }) and `block-job`
 * (BlockJobProgress).
 */
export class HostAgent extends EventEmitter {
  readonly virsh: Virsh;
  readonly events: EventStream;
  readonly freezes: FreezeManager;
  readonly pauses: PauseManager;
  readonly ioErrors: IoErrorResumer;
  readonly blockJobs: BlockJobs;
  /** Recent IOPS of every running guest's disks (disk.iops). */
  readonly iops: BlockSampler | null;
  private readonly diskTargets: DiskTargets;
  private readonly domainOptions: DomainOptions;
  private readonly initiatorFile: string;
  private initiator: string | undefined;

  constructor(options: HostAgentOptions = {}) {
    super();
    this.virsh = new Virsh(options);
    this.events = new EventStream({ uri: this.virsh.uri });
    this.freezes = new FreezeManager(this.virsh, options.holdDir);
    this.pauses = new PauseManager(this.virsh, options.holdDir);
    this.ioErrors = new IoErrorResumer(this.virsh, options.ioErrorResume);
    this.blockJobs = new BlockJobs(this.virsh, this.events);
    this.diskTargets = new DiskTargets(this.virsh, this.events);
    this.domainOptions = options.domain ?? { domainType: 'qemu', tbCacheMiB: 32 };
    this.initiatorFile = options.initiatorFile ?? DEFAULT_INITIATOR_FILE;
    this.events.on('event', (e: LibvirtEvent) => this.emit('event', e));
    this.freezes.on('thawed', (t) => this.emit('thawed', t));
    this.pauses.on('resumed', (t) => this.emit('resumed', t));
    this.ioErrors.on('resumed', (t) => this.emit('io-error-resumed', t));
    // a failed attempt is retried on the next pass; the listener keeps it from throwing
    this.ioErrors.on('error', (t) => this.emit('io-error-resume-failed', t));
    this.blockJobs.on('progress', (p) => this.emit('block-job', p));
    this.iops =
      options.iops === false
        ? null
        : new BlockSampler(
            () => this.virsh.run(['domstats', '--block', '--list-running'], { timeoutMs: 10_000 }),
            options.iops,
          );
    // QEMU's counters start from zero in a new process: a start or stop ends the domain's windows
    this.events.on('event', (e: LibvirtEvent) => {
      if (e.kind === 'lifecycle' && (e.event === 'Started' || e.event === 'Stopped'))
        this.iops?.domainChanged(e.vm);
    });
  }

  /** Checks libvirt answers, opens the event stream and takes over holds a previous run left. */
  async start(): Promise<void> {
    await this.virsh.run(['version'], { timeoutMs: 15_000 });
    await this.events.start();
    await this.freezes.adopt();
    await this.pauses.adopt();
    this.ioErrors.start();
    this.iops?.start();
  }

  /** Thaws what this agent froze and closes the event stream. */
  async close(): Promise<void> {
    this.iops?.stop();
    this.ioErrors.stop();
    await this.freezes.thawAll();
    await this.pauses.resumeAll();
    this.events.stop();
  }

  /** A change to a domain's disks made outside this class (a disk moved by block copy). */
  changingDisks<T>(vm: string, change: () => Promise<T>): Promise<T> {
    return this.changing(vm, change);
  }

  /** Runs a change to a domain's definition or disks: its cached disk targets go, before and after. */
  private async changing<T>(vm: string, change: () => Promise<T>): Promise<T> {
    this.diskTargets.forget(vm);
    try {
      return await change();
    } finally {
      this.diskTargets.forget(vm);
    }
  }

  // --- registration -------------------------------------------------------------------------

  async initiatorName(): Promise<string> {
    this.initiator ??= await ensureInitiatorName(this.initiatorFile);
    return this.initiator;
  }

  async hostFacts(): Promise<HostFacts> {
    return collectHostFacts(this.virsh, await this.initiatorName());
  }

  /** The real state now: domains, frozen guests, block jobs in flight. */
  async stateReport(): Promise<AgentStateReport> {
    const names = (await this.virsh.run(['list', '--all', '--name'])).split('\n').filter((n) => n.length > 0);
    const domains = await domainReports(this.virsh, names);
    return {
      at: new Date().toISOString(),
      domains,
      frozenGuests: this.freezes.status(),
      blockJobs: this.blockJobs.list().map((j) => ({
        vm: j.vm,
        disk: j.target,
        type: j.jobType === 'active-commit' ? 'active-commit' : j.jobType,
        cur: 0,
        end: 0,
      })),
    };
  }

  // --- VMs ----------------------------------------------------------------------------------

  defineVm(spec: AgentVmSpec): Promise<{ name: string; uuid: string }> {
    return this.changing(spec.name, () => defineVm(this.virsh, spec, this.domainOptions));
  }

  defineFromTemplate(
    spec: TemplateVmSpec,
    options: Partial<DomainOptions> = {},
  ): Promise<{ name: string; uuid: string; rootOverlay: string }> {
    return this.changing(spec.name, () =>
      defineFromTemplate(this.virsh, spec, { ...this.domainOptions, ...options }),
    );
  }

  startVm(vm: string): Promise<DomainRunState> {
    return this.changing(vm, () => startVm(this.virsh, vm));
  }

  async stopVm(vm: string, timeoutMs = 60_000): Promise<{ state: DomainRunState; forced: boolean }> {
    const result = await this.changing(vm, () => stopVm(this.virsh, this.events, vm, timeoutMs));
    this.freezes.forget(vm);
    this.pauses.forget(vm);
    return result;
  }

  async destroyVm(vm: string): Promise<{ existed: boolean }> {
    const result = await this.changing(vm, () => destroyVm(this.virsh, vm));
    this.freezes.forget(vm);
    this.pauses.forget(vm);
    return result;
  }

  vmState(vm: string): Promise<DomainReport> {
    return domainReport(this.virsh, vm);
  }

  async liveDisks(vm: string): Promise<Array<{ target: string; source: string }>> {
    return parseBlockList(await this.virsh.run(['domblklist', '--domain', vm, '--details'], { vm }))
      .filter((d) => d.device === 'disk')
      .map((d) => ({ target: d.target, source: d.source }));
  }

  /**
   * Waits for the guest agent to connect (the `agent-lifecycle` event), or returns at once when
   * the domain is already up and its agent connected.
   */
  async waitForGuestAgent(vm: string, timeoutMs = 60_000): Promise<boolean> {
    const connected = this.events.waitFor(
      (e) => e.kind === 'agent-lifecycle' && e.vm === vm && e.state === 'connected',
      timeoutMs,
    );
    const xml = await this.virsh.run(['dumpxml', '--domain', vm], { vm });
    if (/<target type='virtio' name='org\.qemu\.guest_agent\.0' state='connected'/.test(xml)) return true;
    return (await connected) !== undefined;
  }

  // --- disks --------------------------------------------------------------------------------

  /** Hot (or cold) attach of a file, iSCSI-through-QEMU, RBD, block or host-iSCSI disk. */
  async attachDisk(
    vm: string,
    disk: AgentDiskSpec,
    options: AttachOptions = { live: true },
  ): Promise<DiskOpResult> {
    const source = disk.source.kind === 'iscsi-host' ? await loginHostIscsi(disk.source) : disk.source;
    return this.changing(vm, () => attachDisk(this.virsh, vm, { ...disk, source }, options));
  }

  detachDisk(
    vm: string,
    target: string,
    options: AttachOptions & { timeoutMs?: number } = { live: true },
  ): Promise<DiskOpResult> {
    return this.changing(vm, () => detachDisk(this.virsh, this.events, vm, target, options));
  }

  /** Logs the host initiator out of a LUN after its disk was detached. */
  releaseHostIscsi(source: HostIscsiDiskSource): Promise<void> {
    return logoutHostIscsi(source);
  }

  /** A libvirt secret (CHAP password or cephx key), value passed through a 0600 file. */
  defineSecret(usage: SecretUsage, usageName: string, value: Buffer): Promise<string> {
    return defineSecret(this.virsh, usage, usageName, value);
  }

  undefineSecret(uuid: string): Promise<void> {
    return undefineSecret(this.virsh, uuid);
  }

  // --- guest operations ---------------------------------------------------------------------

  freeze(vm: string, deadlineMs: number): Promise<FreezeResult> {
    return this.freezes.freeze(vm, deadlineMs);
  }

  thaw(vm: string): Promise<ThawResult> {
    return this.freezes.thaw(vm, 'requested');
  }

  /** Pauses the vCPUs with a deadline (the `pause` quiesce mode); resumed at the deadline regardless. */
  pause(vm: string, deadlineMs: number): Promise<PauseResult> {
    return this.pauses.pause(vm, deadlineMs);
  }

  resume(vm: string): Promise<ResumeResult> {
    return this.pauses.resume(vm, 'requested');
  }

  // --- snapshots ----------------------------------------------------------------------------

  /** With quiesce and a deadline, libvirt's freeze is guarded by the thaw watchdog (FreezeManager.guarded). */
  diskOnlySnapshot(
    vm: string,
    overlays: readonly OverlaySpec[],
    options: { quiesce?: boolean; deadlineMs?: number } = {},
  ): Promise<DiskSnapshotResult> {
    const { deadlineMs } = options;
    const guard =
      deadlineMs === undefined
        ? undefined
        : (call: () => Promise<number>) => this.freezes.guarded(vm, deadlineMs, call);
    return diskOnlySnapshot(this.virsh, (v) => this.diskTargets.of(v), vm, overlays, {
      ...(options.quiesce !== undefined && { quiesce: options.quiesce }),
      ...(guard && { guard }),
    });
  }

  /** Live migration to another host's libvirt (vm/migrate.ts); the domain is that host's after. */
  migrate(req: MigrateRequest): Promise<{ tookMs: number }> {
    return this.changing(req.vm, () => migrateVm(this.virsh, req));
  }

  /** A disk-only cut with the guest held only around it, here on the host (snapshots/held-cut.ts). */
  heldCut(
    vm: string,
    hold: CutHold,
    deadlineMs: number,
    overlays: readonly OverlaySpec[],
  ): Promise<HeldCutResult> {
    const deps = {
      virsh: this.virsh,
      targetsOf: (v: string) => this.diskTargets.of(v),
      freezes: this.freezes,
      pauses: this.pauses,
    };
    return heldCut(deps, vm, hold, deadlineMs, overlays);
  }

  memorySnapshot(
    vm: string,
    memoryPath: string,
    overlays: readonly OverlaySpec[] = [],
  ): Promise<MemorySnapshotResult> {
    return memorySnapshot(this.virsh, (v) => this.diskTargets.of(v), vm, memoryPath, overlays);
  }

  blockCommit(vm: string, target: string, timeoutMs?: number): Promise<BlockJobResult> {
    return this.blockJobs.activeCommit(vm, target, timeoutMs);
  }

  blockStream(vm: string, target: string, timeoutMs?: number, base?: string): Promise<BlockJobResult> {
    return this.blockJobs.stream(vm, target, timeoutMs, base);
  }

  internalSnapshot(
    vm: string,
    op: 'create' | 'revert' | 'delete',
    name: string,
  ): Promise<InternalSnapshotResult> {
    return internalSnapshot(this.virsh, vm, op, name);
  }

  revertExternal(
    vm: string,
    disks: readonly RevertDisk[],
    options: { memoryPath?: string; start?: boolean } = {},
  ): Promise<RevertResult> {
    return this.changing(vm, () => revertExternal(this.virsh, this.events, vm, disks, options));
  }

  restoreFromMemory(
    vm: string,
    memoryPath: string,
    files: readonly RestoreFile[],
    disks: readonly AgentDiskSpec[] = [],
  ): Promise<RestoreResult> {
    return this.changing(vm, () => restoreFromMemory(this.virsh, vm, memoryPath, files, disks));
  }

  // --- QoS ----------------------------------------------------------------------------------

  setIoTune(vm: string, target: string, iotune: IoTune): Promise<IoTuneResult> {
    return setIoTune(this.virsh, vm, target, iotune);
  }

  getIoTune(vm: string, target: string): Promise<IoTune> {
    return getIoTune(this.virsh, vm, target);
  }
}
