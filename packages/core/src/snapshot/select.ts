import { StrataError } from '../errors/strata-error.js';
import { checkStrategyRegistered } from './checks.js';
import { rank, type Priority, type Verdict } from './priority.js';
import type { VmSnapshotRequest } from './request.js';

/** The part of a strategy that selection needs: a name and a pure `canHandle`. */
export interface StrategyCandidate {
  readonly name: string;
  canHandle(request: VmSnapshotRequest): Verdict;
}

export interface Explanation {
  readonly strategy: string;
  readonly priority: Priority;
  readonly reason: string;
  readonly chosen: boolean;
}

export interface Selection {
  readonly chosen: string | null;
  readonly explanation: readonly Explanation[];
}

/**
 * Asks every candidate and keeps the highest priority; ties go to the name that sorts first, so
 * the answer never depends on registration order. For revert and delete only the strategy that
 * took the snapshot may answer: the others are listed with that reason.
 */
export function explainSelection(
  candidates: readonly StrategyCandidate[],
  request: VmSnapshotRequest,
): Selection {
  const answers = [...candidates]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => {
      if (request.takenBy !== undefined && c.name !== request.takenBy) {
        return {
          strategy: c.name,
          priority: 'CANT_HANDLE' as const,
          reason: `snapshot was taken by ${request.takenBy}`,
        };
      }
      const v = c.canHandle(request);
      return { strategy: c.name, priority: v.priority, reason: v.reason };
    });
  let best: (typeof answers)[number] | undefined;
  for (const a of answers) {
    if (a.priority === 'CANT_HANDLE') continue;
    if (!best || rank(a.priority) > rank(best.priority)) best = a;
  }
  return {
    chosen: best?.strategy ?? null,
    explanation: answers.map((a) => ({ ...a, chosen: a === best })),
  };
}

/** Like explainSelection, but a request no strategy takes is a coded error carrying every reason. */
export function selectStrategy(candidates: readonly StrategyCandidate[], request: VmSnapshotRequest): string {
  if (request.takenBy !== undefined) {
    checkStrategyRegistered(candidates, { id: request.snapshotId ?? '(unknown)', strategy: request.takenBy });
  }
  return chosenOf(explainSelection(candidates, request), request);
}

/** The selection's winner; NO_SNAPSHOT_STRATEGY with every candidate's reason when there is none. */
export function chosenOf(selection: Selection, request: VmSnapshotRequest): string {
  const { chosen, explanation } = selection;
  if (chosen === null) {
    const reasons =
      explanation.map((e) => `${e.strategy}: ${e.reason}`).join('; ') || 'no strategy is registered';
    throw new StrataError('NO_SNAPSHOT_STRATEGY', {
      operation: request.operation,
      vm: request.vm.id,
      reasons,
    });
  }
  return chosen;
}
