import { StrataError } from '../errors/strata-error.js';

type Table = Record<string, Readonly<Record<string, string>>>;
type EventsOf<T extends Table> = { [S in keyof T]: keyof T[S] }[keyof T] & string;

/**
 * A lifecycle as one table of allowed transitions: `table[state][event] = nextState`.
 * Anything not in the table is illegal and raises ILLEGAL_TRANSITION: never a silent write.
 */
export interface StateMachine<S extends string, E extends string> {
  readonly name: string;
  readonly states: readonly S[];
  readonly events: readonly E[];
  can(state: S, event: E): boolean;
  next(state: S, event: E): S;
  transitions(): ReadonlyArray<{ from: S; event: E; to: S }>;
}

export function defineMachine<const T extends Table>(
  name: string,
  table: T & { [K in keyof T]: { [E in keyof T[K]]: keyof T & string } },
): StateMachine<keyof T & string, EventsOf<T>> {
  type S = keyof T & string;
  type E = EventsOf<T>;
  const states = Object.keys(table) as S[];
  const events = [...new Set(states.flatMap((s) => Object.keys(table[s] ?? {})))] as E[];
  const lookup = (state: S, event: E): S | undefined =>
    (table[state] as Record<string, S> | undefined)?.[event];
  return {
    name,
    states,
    events,
    can: (state, event) => lookup(state, event) !== undefined,
    next(state, event) {
      const to = lookup(state, event);
      if (to === undefined) throw new StrataError('ILLEGAL_TRANSITION', { machine: name, state, event });
      return to;
    },
    transitions: () =>
      states.flatMap((from) =>
        Object.entries(table[from] ?? {}).map(([event, to]) => ({ from, event: event, to: to })),
      ),
  };
}

export type StateOf<M> = M extends StateMachine<infer S, string> ? S : never;
export type EventOf<M> = M extends StateMachine<string, infer E> ? E : never;
