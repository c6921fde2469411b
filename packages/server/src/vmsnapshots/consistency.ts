import { consistencyOf, type Consistency, type ResolvedQuiesce, type VmSnapshotType } from '@strata/core';

/** What a cut's consistency label depends on. */
export interface LabelFacts {
  readonly vmRunning: boolean;
  readonly guestAgent: boolean;
  readonly type: VmSnapshotType;
  readonly quiesce: ResolvedQuiesce;
  /** What each driver says its part reached (never more than the cut asked of it). */
  readonly parts: readonly Consistency[];
}

const WEAKEST_FIRST: readonly Consistency[] = ['crash', 'filesystem', 'application'];

const weaker = (a: Consistency, b: Consistency): Consistency =>
  WEAKEST_FIRST.indexOf(a) <= WEAKEST_FIRST.indexOf(b) ? a : b;

/**
 * The consistency recorded for a cut that held every disk at one instant (executeCut takes no
 * other cut of a running VM: one atomic overlay over every disk, whatever the mode). Every label
 * claims at least what a power cut leaves, one instant on every disk; a freeze adds the
 * filesystems. So `none` and `pause` are `crash`, a freeze `filesystem`, a stopped VM's disks at
 * rest `filesystem`, and a memory snapshot's disks `crash` (libvirt cannot quiesce it). A part a
 * driver reports weaker lowers the whole.
 */
export function cutConsistency(facts: LabelFacts): Consistency {
  const vm = { state: facts.vmRunning ? 'Running' : 'Stopped', guestAgent: facts.guestAgent };
  const base: Consistency =
    facts.type === 'DiskAndMemory' && facts.vmRunning ? 'crash' : consistencyOf(facts.quiesce, vm);
  return facts.parts.reduce(weaker, base);
}
