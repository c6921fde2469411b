import { consistencyOf, type Consistency, type ResolvedQuiesce, type VmSnapshotType } from '@strata/core';

/** What a cut's consistency label depends on. */
export interface LabelFacts {
  readonly vmRunning: boolean;
  readonly guestAgent: boolean;
  readonly type: VmSnapshotType;
  readonly quiesce: ResolvedQuiesce;
  /** What each driver says its part reached (never more than the cut asked of it). */
  readonly parts: readonly Consistency[];
  /**
   * A stopped VM: what its disks hold at rest, as its last stop left them (`crash` after a forced
   * stop or a lost host, `filesystem` after a clean shutdown); null: it never ran. Absent (plans
   * journaled before it was recorded): taken as a clean shutdown, as those plans were labelled.
   */
  readonly atRest?: Consistency | null;
}

const WEAKEST_FIRST: readonly Consistency[] = ['crash', 'filesystem', 'application'];

const weaker = (a: Consistency, b: Consistency): Consistency =>
  WEAKEST_FIRST.indexOf(a) <= WEAKEST_FIRST.indexOf(b) ? a : b;

/**
 * The consistency recorded for a cut that held every disk at one instant (executeCut takes no
 * other cut of a running VM: one atomic overlay over every disk, whatever the mode). Every label
 * claims at least what a power cut leaves, one instant on every disk; a freeze adds the
 * filesystems. So `none` and `pause` are `crash`, a freeze `filesystem`, a stopped VM's disks at
 * rest what its last stop left (`filesystem` after a clean shutdown, `crash` after any other), and a memory snapshot's disks `crash` (libvirt cannot quiesce it). A part a
 * driver reports weaker lowers the whole.
 */
export function cutConsistency(facts: LabelFacts): Consistency {
  const vm = { state: facts.vmRunning ? 'Running' : 'Stopped', guestAgent: facts.guestAgent };
  const cut: Consistency =
    facts.type === 'DiskAndMemory' && facts.vmRunning ? 'crash' : consistencyOf(facts.quiesce, vm);
  // A stopped VM's disks hold what its last stop left: nothing a snapshot does can add to that.
  const base = !facts.vmRunning && facts.atRest ? weaker(cut, facts.atRest) : cut;
  return facts.parts.reduce(weaker, base);
}
