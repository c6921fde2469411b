import type { StorageCallParams, StorageCallResult } from '../storage/remote.js';
import type { AgentStateReport, DomainReport, DomainRunState, HostFacts } from './facts.js';

/** Where a disk's bytes live, as the host attaches them (DESIGN.md section 6). */
export type DiskSource =
  | { readonly kind: 'file'; readonly path: string; readonly format: 'qcow2' | 'raw' }
  | {
      readonly kind: 'iscsi';
      readonly portal: string;
      readonly iqn: string;
      readonly lun: number;
      readonly initiatorIqn?: string;
      readonly chap?: { readonly username: string; readonly secretUuid: string };
    }
  | {
      readonly kind: 'rbd';
      readonly pool: string;
      readonly image: string;
      readonly monitors: readonly string[];
      readonly auth?: { readonly username: string; readonly secretUuid: string };
    };

/** libvirt `<iotune>` as Strata sets it: max, burst and burst length (DESIGN.md section 5). */
export interface IoTune {
  readonly totalIopsSec: number;
  readonly totalIopsSecMax?: number;
  readonly totalIopsSecMaxLength?: number;
  readonly totalBytesSec?: number;
}

export interface DiskSpec {
  /** The volume id, written as the disk's serial so the guest and the agent can tell disks apart. */
  readonly volumeId: string;
  /** Guest device name (vda, vdb…). */
  readonly target: string;
  readonly source: DiskSource;
  readonly iotune?: IoTune;
}

export interface VmSpec {
  readonly name: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly disks: readonly DiskSpec[];
  /** Kernel boot for tiny guests (tests, demo); omitted: boot from the first disk. */
  readonly kernel?: { readonly path: string; readonly initrd?: string; readonly cmdline?: string };
}

type Cmd<P, R> = { readonly params: P; readonly result: R };
type VmRef = { readonly vm: string };

/**
 * Every command the server may send an agent, with its parameters and result. Both ends type-check
 * against this map; a command name not in it (or not handled by that agent) answers
 * AGENT_UNKNOWN_COMMAND. Every mutating command is idempotent on the names it carries.
 */
export interface AgentCommands {
  /** Liveness through the whole path (server → agent → server). */
  'agent.ping': Cmd<
    Record<string, never>,
    { readonly at: string; readonly pid: number; readonly uptimeMs: number }
  >;
  'host.facts': Cmd<Record<string, never>, HostFacts>;
  /** The agent's real state now (the same report it sends on every connection). */
  'host.report': Cmd<Record<string, never>, AgentStateReport>;
  'vm.define': Cmd<VmSpec, { readonly name: string; readonly uuid: string }>;
  'vm.start': Cmd<VmRef, { readonly state: DomainRunState }>;
  /** Graceful shutdown for `timeoutMs`, then forced. */
  'vm.stop': Cmd<
    VmRef & { readonly timeoutMs?: number },
    { readonly state: DomainRunState; readonly forced: boolean }
  >;
  /** Stops at once and undefines; absent domains are fine (idempotent). */
  'vm.destroy': Cmd<VmRef, { readonly existed: boolean }>;
  'vm.list': Cmd<Record<string, never>, { readonly domains: readonly DomainReport[] }>;
  'vm.state': Cmd<VmRef, DomainReport>;
  'disk.attach': Cmd<
    VmRef & { readonly disk: DiskSpec; readonly live: boolean },
    { readonly target: string }
  >;
  'disk.detach': Cmd<
    VmRef & { readonly target: string; readonly live: boolean },
    { readonly target: string }
  >;
  /** fsfreeze with a deadline: the agent thaws on its own when it passes. */
  'guest.freeze': Cmd<
    VmRef & { readonly deadlineMs: number },
    {
      readonly filesystems: number;
      readonly frozenAt: string;
      readonly deadlineAt: string;
      readonly freezeMs: number;
    }
  >;
  'guest.thaw': Cmd<VmRef, { readonly filesystems: number; readonly frozenForMs: number }>;
  /** Pauses the vCPUs with a deadline: the agent resumes on its own when it passes (crash-consistent cut). */
  'vm.pause': Cmd<
    VmRef & { readonly deadlineMs: number },
    { readonly pausedAt: string; readonly deadlineAt: string }
  >;
  'vm.resume': Cmd<VmRef, { readonly pausedForMs: number }>;
  /** Defines (or updates) a libvirt secret a disk names: a CHAP password or a cephx key. Idempotent on `uuid`. */
  'secret.set': Cmd<
    {
      readonly uuid: string;
      readonly usage: string;
      readonly type: 'iscsi' | 'ceph';
      readonly value: string;
    },
    { readonly uuid: string }
  >;
  /** Removes the libvirt secret of that uuid (a disk that needed it is gone); an absent one is fine. */
  'secret.remove': Cmd<{ readonly uuid: string }, { readonly uuid: string }>;
  /** Atomic disk-only external snapshot of the named disks, each onto a new overlay file. */
  'snapshot.diskOnly': Cmd<
    VmRef & {
      readonly disks: ReadonlyArray<{ readonly target: string; readonly overlayPath: string }>;
      readonly quiesce: boolean;
      /**
       * With quiesce: the hold's deadline. The agent arms its detached thaw watchdog before the
       * call, so the guest is thawed at the deadline even if libvirt or the agent hangs inside it.
       */
      readonly deadlineMs?: number;
    },
    /** snapshotMs: the libvirt call alone (with quiesce, the freeze, cut and thaw inside it). */
    { readonly snapshotMs: number; readonly tookMs: number }
  >;
  /**
   * One atomic disk-only snapshot with the guest held around it on the host (its filesystems
   * frozen, or its vCPUs paused), released there too: no server round trip inside the hold. The
   * agent's watchdog releases it at the deadline whatever happens.
   */
  'snapshot.heldCut': Cmd<
    VmRef & {
      readonly hold: 'guest' | 'pause';
      readonly deadlineMs: number;
      readonly disks: ReadonlyArray<{ readonly target: string; readonly overlayPath: string }>;
    },
    { readonly heldMs: number; readonly snapshotMs: number; readonly tookMs: number }
  >;
  /** Memory (and disk-only overlays of the named disks) to a file. */
  'snapshot.memory': Cmd<
    VmRef & {
      readonly memoryPath: string;
      readonly disks: ReadonlyArray<{ readonly target: string; readonly overlayPath: string }>;
    },
    /** snapshotMs: the libvirt call alone, the guest paused inside it while its memory is written. */
    { readonly snapshotMs: number; readonly tookMs: number }
  >;
  /**
   * Runs a stopped VM again from the memory state saved with a snapshot (no reboot); its file
   * disks, found by serial (volume id), are pointed at their new active layers first, and its
   * network disks (`disks`, by target) opened as this host opens them: the saved state names the
   * initiator and secrets of the host that took it, which may be another (after a migration).
   */
  'vm.restore': Cmd<
    VmRef & {
      readonly memoryPath: string;
      readonly files: ReadonlyArray<{ readonly volumeId: string; readonly path: string }>;
      readonly disks?: readonly DiskSpec[];
    },
    { readonly state: DomainRunState; readonly tookMs: number }
  >;
  /**
   * Live-migrates a running VM to another host's libvirt (`destUri`, as this host reaches it),
   * its network disks opened as the destination opens them (`disks`: its initiator name, its
   * cephx user); the source's definition is removed once the guest runs there. `unsafe` only for
   * pools every host sees (NFS).
   */
  'vm.migrate': Cmd<
    VmRef & {
      readonly destUri: string;
      readonly migrateUri?: string;
      readonly unsafe: boolean;
      readonly disks: readonly DiskSpec[];
    },
    { readonly tookMs: number }
  >;
  /**
   * Moves a running disk onto another volume (`disk`, the same target, opened as this host opens
   * it): libvirt's block copy into the prepared destination, then the pivot once the mirror is in
   * sync. Idempotent: a disk already on the destination answers `copied: false`; a copy a crashed
   * run left is aborted and started again.
   */
  'disk.copy': Cmd<
    VmRef & { readonly disk: DiskSpec },
    {
      readonly copied: boolean;
      readonly tookMs: number;
      readonly readyMs?: number;
      readonly pivotMs?: number;
    }
  >;
  /**
   * Copies a stopped disk's bytes onto another volume created beforehand (`qemu-img convert -n`),
   * both opened as this host opens them; the secrets they name are read from this host's libvirt.
   */
  'disk.convert': Cmd<{ readonly from: DiskSource; readonly to: DiskSource }, { readonly tookMs: number }>;
  /** Active block commit of a disk's top overlay into its backing image, then pivot. */
  'snapshot.blockCommit': Cmd<VmRef & { readonly target: string }, { readonly tookMs: number }>;
  /** Block stream into the disk's top image: everything, or with `base` only the layers above it. */
  'snapshot.blockStream': Cmd<
    VmRef & { readonly target: string; readonly base?: string },
    { readonly tookMs: number }
  >;
  /** Internal qcow2 snapshots (create, revert, delete) for strategies that want them. */
  'snapshot.internal': Cmd<
    VmRef & { readonly op: 'create' | 'revert' | 'delete'; readonly name: string },
    { readonly tookMs: number }
  >;
  /** Sets `<iotune>` live and answers what libvirt reads back (the agent fails if it differs). */
  'iotune.set': Cmd<VmRef & { readonly target: string; readonly iotune: IoTune }, IoTune>;
  'iotune.get': Cmd<VmRef & { readonly target: string }, IoTune>;
  /** The disk's recent IOPS as this host sampled them (a short window kept in memory: docs/agent-channel.md). */
  'disk.iops': Cmd<VmRef & { readonly target: string }, DiskIopsWindow>;
  /**
   * One storage-driver call served by an agent in the storage role (ADR 0003): the node builds the
   * pool's driver from its settings and answers the method's result, or the driver's coded error.
   */
  'storage.call': Cmd<StorageCallParams, StorageCallResult>;
  // Files on the host (docs/agent-channel.md, file commands): only under the directories the agent
  // serves (its host state directory and the qcow2 pool directories it mounts), else
  // FILE_PATH_REFUSED. The server never touches these files itself.
  /**
   * A qcow2 overlay over `backing` (written whole, then renamed into place). Idempotent: an
   * existing overlay over the same backing answers `created: false`; one over another, FILE_CONFLICT.
   */
  'file.createOverlay': Cmd<
    { readonly path: string; readonly backing: string; readonly backingFormat?: FileFormat },
    { readonly created: boolean }
  >;
  /** Removes a regular file; an absent one is fine (idempotent). */
  'file.remove': Cmd<{ readonly path: string }, { readonly existed: boolean }>;
  /** `qemu-img commit`: the layer's data into its backing file (a stopped VM's disk). */
  'file.commit': Cmd<{ readonly path: string }, { readonly tookMs: number }>;
  /** Safe `qemu-img rebase` of a layer onto `backing` (a stopped VM's disk; what the guest reads never changes). */
  'file.rebase': Cmd<
    {
      readonly path: string;
      readonly format: FileFormat;
      readonly backing: string;
      readonly backingFormat: FileFormat;
    },
    { readonly tookMs: number }
  >;
  /** A layer's backing chain, itself first; `exists: false` (and no layers) when the file is absent. */
  'file.chain': Cmd<
    { readonly path: string },
    { readonly exists: boolean; readonly layers: readonly ChainLayer[] }
  >;
  /** The regular files of a served directory whose names start with `prefix` (orphan scans). */
  'file.list': Cmd<
    { readonly dir: string; readonly prefix?: string },
    { readonly exists: boolean; readonly names: readonly string[] }
  >;
  /**
   * A template file the operator registers, checked on the machine that has it: the path (whose
   * text the server checked) must resolve, links followed, under one of `allowedDirs` and be a
   * regular file; with `format`, `qemu-img info` reads its virtual size. Read-only, anywhere the
   * allowed directories are: `absent` when this machine does not have the file.
   */
  'template.inspect': Cmd<
    { readonly path: string; readonly allowedDirs: readonly string[]; readonly format?: FileFormat },
    TemplateInspection
  >;
}

/** One sampling interval of a disk: operations per second completed in it (QEMU's counters). */
export interface IopsPoint {
  /** End of the interval, ms since the epoch (the host's clock). */
  readonly at: number;
  readonly readIops: number;
  readonly writeIops: number;
  /** Reads and writes: what QEMU's total_iops_sec limit counts. */
  readonly iops: number;
}

/** What `disk.iops` answers: the window the host keeps for one disk of a running domain. */
export interface DiskIopsWindow {
  /** How often the host samples (ms). */
  readonly periodMs: number;
  /** How far back the window reaches at most (ms). */
  readonly windowMs: number;
  /** Oldest first; empty until two samples of the disk were taken. */
  readonly points: readonly IopsPoint[];
  /** Why there are no points, when there are none (domain not running, no such disk, just started). */
  readonly reason: string | null;
}

/** What `template.inspect` found: the file usable (with its size when asked), refused with why, or absent. */
export type TemplateInspection =
  | { readonly state: 'ok'; readonly virtualSize: number | null }
  | { readonly state: 'refused'; readonly reason: string }
  | { readonly state: 'absent' };

/** The image formats the file commands take. */
export type FileFormat = 'qcow2' | 'raw';

/** One image of a backing chain, as `file.chain` answers it. */
export interface ChainLayer {
  readonly path: string;
  readonly format: string;
}

export type AgentCommand = keyof AgentCommands;
export type CommandParams<C extends AgentCommand> = AgentCommands[C]['params'];
export type CommandResult<C extends AgentCommand> = AgentCommands[C]['result'];

/** Every command name, for capability lists and validation. */
export const agentCommandNames = [
  'agent.ping',
  'host.facts',
  'host.report',
  'vm.define',
  'vm.start',
  'vm.stop',
  'vm.destroy',
  'vm.list',
  'vm.state',
  'disk.attach',
  'disk.detach',
  'guest.freeze',
  'guest.thaw',
  'vm.pause',
  'vm.resume',
  'secret.set',
  'secret.remove',
  'snapshot.diskOnly',
  'snapshot.heldCut',
  'snapshot.memory',
  'vm.restore',
  'vm.migrate',
  'disk.copy',
  'disk.convert',
  'snapshot.blockCommit',
  'snapshot.blockStream',
  'snapshot.internal',
  'iotune.set',
  'iotune.get',
  'disk.iops',
  'storage.call',
  'file.createOverlay',
  'file.remove',
  'file.commit',
  'file.rebase',
  'file.chain',
  'file.list',
  'template.inspect',
] as const satisfies readonly AgentCommand[];

// Compile-time check that the list above names every command of the map.
type Missing = Exclude<AgentCommand, (typeof agentCommandNames)[number]>;
const allNamed: [Missing] extends [never] ? true : Missing = true;
void allNamed;

export function isAgentCommand(name: string): name is AgentCommand {
  return (agentCommandNames as readonly string[]).includes(name);
}

/**
 * How long the server waits for each command when the caller names no timeout: long enough for
 * the slow libvirt operations (a graceful stop, a block commit of a big disk), short for reads.
 */
export const defaultCommandTimeoutsMs: { readonly [C in AgentCommand]: number } = {
  'agent.ping': 10_000,
  'host.facts': 30_000,
  'host.report': 30_000,
  'vm.define': 60_000,
  'vm.start': 120_000,
  'vm.stop': 180_000,
  'vm.destroy': 60_000,
  'vm.list': 30_000,
  'vm.state': 30_000,
  'vm.pause': 30_000,
  'vm.resume': 30_000,
  'disk.attach': 60_000,
  'disk.detach': 90_000,
  'guest.freeze': 30_000,
  'guest.thaw': 30_000,
  'secret.set': 30_000,
  'secret.remove': 30_000,
  'snapshot.diskOnly': 120_000,
  'snapshot.heldCut': 120_000,
  'snapshot.memory': 600_000,
  'vm.restore': 600_000,
  'vm.migrate': 600_000,
  'disk.copy': 1_800_000,
  'disk.convert': 1_800_000,
  'snapshot.blockCommit': 1_800_000,
  'snapshot.blockStream': 1_800_000,
  'snapshot.internal': 600_000,
  'iotune.set': 30_000,
  'iotune.get': 30_000,
  'disk.iops': 15_000,
  // The caller sets its own from the call's deadline; this is the fallback.
  'storage.call': 600_000,
  'file.createOverlay': 60_000,
  'file.remove': 30_000,
  'file.commit': 1_800_000,
  'file.rebase': 1_800_000,
  'file.chain': 60_000,
  'file.list': 30_000,
  'template.inspect': 60_000,
};
