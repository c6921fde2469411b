import type { DiskRecords } from './torture-checks.js';

/** The consistency labels a VM snapshot may record (docs/vm-snapshots.md). */
export const LABELS = ['crash', 'filesystem', 'application'] as const;

/**
 * The label each quiesce mode records on a running VM whose guest agent answers; `memory`: a
 * snapshot with the guest's memory, whose disks alone are what a crash leaves.
 */
export const EXPECTED_LABEL = {
  guest: 'filesystem',
  hypervisor: 'filesystem',
  pause: 'crash',
  none: 'crash',
  memory: 'crash',
} as const;

/**
 * Whether a reverted snapshot is what its label says. Every label claims at least one instant on
 * every disk (what a power cut leaves): with one ordered writer over all disks, no disk may hold a
 * write newer than a write missing from another. A label outside the documented ones is itself
 * a problem. Answers what is wrong, naming the disks; empty when the label is true.
 */
export function checkLabel(label: string | null, after: DiskRecords): string[] {
  if (!LABELS.includes(label as (typeof LABELS)[number])) return [`label ${String(label)} is not documented`];
  const newest = [...after].map(([disk, records]) => ({ disk, last: records.at(-1)?.seq ?? 0 }));
  const present = new Set([...after.values()].flatMap((records) => records.map((r) => r.seq)));
  const top = newest.reduce((a, b) => (b.last > a.last ? b : a), { disk: '', last: 0 });
  for (let seq = 1; seq < top.last; seq++) {
    if (!present.has(seq))
      return [
        `labelled ${label} (one instant on every disk), yet ${top.disk} holds write #${top.last} while #${seq}, written before it, is on no disk`,
      ];
  }
  return [];
}
