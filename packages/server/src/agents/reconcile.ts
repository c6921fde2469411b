import type { AgentStateReport, DomainRunState } from '@strata/core';

/** One way the agent's real state differs from what the server last knew. */
export type StateDifference =
  | { readonly kind: 'domain-appeared'; readonly vm: string; readonly state: DomainRunState }
  | { readonly kind: 'domain-vanished'; readonly vm: string; readonly was: DomainRunState }
  | {
      readonly kind: 'domain-state';
      readonly vm: string;
      readonly was: DomainRunState;
      readonly now: DomainRunState;
    }
  | { readonly kind: 'guest-frozen'; readonly vm: string; readonly deadlineAt: string }
  | { readonly kind: 'guest-thawed'; readonly vm: string }
  | { readonly kind: 'block-job-started'; readonly vm: string; readonly disk: string; readonly type: string }
  | { readonly kind: 'block-job-ended'; readonly vm: string; readonly disk: string; readonly type: string };

/**
 * What a reconnecting agent reports is the truth; `previous` is the last report the server stored.
 * Pure, so the rules are unit-tested; the hub records each difference as an event and hands the
 * whole list to the reconcile hooks (VM services bring their rows in line).
 */
export function diffReports(previous: AgentStateReport | null, current: AgentStateReport): StateDifference[] {
  const out: StateDifference[] = [];
  const before = new Map((previous?.domains ?? []).map((d) => [d.name, d]));
  const after = new Map(current.domains.map((d) => [d.name, d]));
  for (const [name, d] of after) {
    const was = before.get(name);
    if (!was) out.push({ kind: 'domain-appeared', vm: name, state: d.state });
    else if (was.state !== d.state)
      out.push({ kind: 'domain-state', vm: name, was: was.state, now: d.state });
  }
  for (const [name, d] of before)
    if (!after.has(name)) out.push({ kind: 'domain-vanished', vm: name, was: d.state });

  const frozenBefore = new Set((previous?.frozenGuests ?? []).map((f) => f.vm));
  const frozenNow = new Set(current.frozenGuests.map((f) => f.vm));
  for (const f of current.frozenGuests) {
    if (!frozenBefore.has(f.vm)) out.push({ kind: 'guest-frozen', vm: f.vm, deadlineAt: f.deadlineAt });
  }
  for (const vm of frozenBefore) if (!frozenNow.has(vm)) out.push({ kind: 'guest-thawed', vm });

  const key = (j: { vm: string; disk: string }) => `${j.vm}\u0000${j.disk}`;
  const jobsBefore = new Map((previous?.blockJobs ?? []).map((j) => [key(j), j]));
  const jobsNow = new Map(current.blockJobs.map((j) => [key(j), j]));
  for (const [k, j] of jobsNow) {
    if (!jobsBefore.has(k)) out.push({ kind: 'block-job-started', vm: j.vm, disk: j.disk, type: j.type });
  }
  for (const [k, j] of jobsBefore) {
    if (!jobsNow.has(k)) out.push({ kind: 'block-job-ended', vm: j.vm, disk: j.disk, type: j.type });
  }
  return out;
}

export function describeDifference(d: StateDifference): string {
  switch (d.kind) {
    case 'domain-appeared':
      return `domain ${d.vm} found ${d.state}`;
    case 'domain-vanished':
      return `domain ${d.vm} gone (was ${d.was})`;
    case 'domain-state':
      return `domain ${d.vm} ${d.was} → ${d.now}`;
    case 'guest-frozen':
      return `guest ${d.vm} frozen until ${d.deadlineAt}`;
    case 'guest-thawed':
      return `guest ${d.vm} thawed`;
    case 'block-job-started':
      return `block job ${d.type} on ${d.vm}/${d.disk} running`;
    case 'block-job-ended':
      return `block job ${d.type} on ${d.vm}/${d.disk} ended`;
  }
}
