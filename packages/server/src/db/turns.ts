/**
 * PGlite runs PostgreSQL inside this thread, and its answers come back as already-resolved
 * promises: a request's queries, and every query queued behind them, run one after the other in
 * microtasks without the event loop ever getting a turn. Under load one turn then lasts as long
 * as the whole queue (about a second at 200 connections), and sockets are read only between
 * turns, so requests wait unread in the kernel, unfairly (some for over 10 s), before any handler
 * sees them. This queue runs one piece of database work at a time, each starting in a fresh
 * turn (setImmediate, after the I/O poll): new requests are read and join the queue in arrival
 * order, so the wait is in a FIFO queue the server sees, not in the kernel. bench/load/README.md.
 */
export type TakeTurn = <T>(work: () => Promise<T>) => Promise<T>;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function turnTaking(): TakeTurn {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(nextTurn).then(work);
    tail = run.catch(() => undefined);
    return run;
  };
}
