import { StrataError } from '../errors/strata-error.js';
import type { VmSnapshotRequest } from './request.js';
import { checkStrategyRegistered } from './checks.js';
import { chosenOf, explainSelection, type Selection, type StrategyCandidate } from './select.js';

/**
 * The types a strategy works with: the caller's context, and each operation's input and answer.
 * They are the caller's (the server's jobs), so core stays free of I/O.
 */
export interface StrategyOperations {
  readonly ctx: unknown;
  readonly take: unknown;
  readonly taken: unknown;
  readonly revert: unknown;
  readonly reverted: unknown;
  readonly delete: unknown;
  readonly deleted: unknown;
}

/** A VM-snapshot strategy as an object: it answers `canHandle`, and it takes, reverts and deletes. */
export interface VmSnapshotStrategy<
  O extends StrategyOperations = StrategyOperations,
> extends StrategyCandidate {
  take(ctx: O['ctx'], input: O['take']): Promise<O['taken']>;
  revert(ctx: O['ctx'], input: O['revert']): Promise<O['reverted']>;
  delete(ctx: O['ctx'], input: O['delete']): Promise<O['deleted']>;
}

/**
 * The strategies this process offers. Selection happens here once (the winner is the object that
 * takes), and revert and delete are dispatched to the strategy recorded on the snapshot.
 * Registration refuses empty and duplicate names, as the driver registry does.
 */
export class StrategyRegistry<S extends StrategyCandidate> {
  readonly #byName = new Map<string, S>();

  /**
   * @param legacy the strategy that reverts and deletes snapshots recorded with no strategy
   *   (taken before strategies were recorded, or failed before one was chosen).
   */
  constructor(private readonly legacy?: string) {}

  register(strategy: S): this {
    if (typeof strategy.name !== 'string' || strategy.name.trim() === '') {
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'strategy.name',
        reason: 'must be a non-empty string',
      });
    }
    if (this.#byName.has(strategy.name)) {
      throw new StrataError('ALREADY_EXISTS', { kind: 'VM-snapshot strategy', name: strategy.name });
    }
    this.#byName.set(strategy.name, strategy);
    return this;
  }

  get all(): readonly S[] {
    return [...this.#byName.values()];
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  explain(request: VmSnapshotRequest): Selection {
    return explainSelection(this.all, request);
  }

  /** The winner for a take, with every candidate's answer; NO_SNAPSHOT_STRATEGY when none can. */
  select(request: VmSnapshotRequest): {
    readonly strategy: S;
    readonly explanation: Selection['explanation'];
  } {
    const selection = this.explain(request);
    const name = chosenOf(selection, request);
    return { strategy: this.#byName.get(name)!, explanation: selection.explanation };
  }

  /** The strategy that took `snapshot`; SNAPSHOT_STRATEGY_MISSING when it is not registered. */
  forSnapshot(snapshot: { readonly id: string; readonly strategy: string | null }): S {
    const name = snapshot.strategy ?? this.legacy ?? null;
    checkStrategyRegistered(this.all, { id: snapshot.id, strategy: name ?? '(none recorded)' });
    return this.#byName.get(name!)!;
  }
}
