import { limited } from './limited.js';

/**
 * Caps long-poll waits held open at once, on the whole server and per caller. A wait past
 * either cap is refused at once with RATE_LIMITED (Retry-After 1 s) rather than answered with the
 * job's current state: a client that loops on `?wait=` would otherwise spin, while a refusal
 * tells it to back off. 0 means no cap.
 */
export class WaitGate {
  #open = 0;
  readonly #perCaller = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly maxPerCaller: number,
  ) {}

  /** Takes a place for `caller`; returns what gives it back (call it exactly once). */
  enter(caller: string): () => void {
    const mine = this.#perCaller.get(caller) ?? 0;
    if (this.maxPerCaller > 0 && mine >= this.maxPerCaller)
      throw limited('job waits open for this user', 1, this.maxPerCaller);
    if (this.max > 0 && this.#open >= this.max) throw limited('job waits open on this server', 1, this.max);
    this.#open++;
    this.#perCaller.set(caller, mine + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#open--;
      const n = (this.#perCaller.get(caller) ?? 1) - 1;
      if (n > 0) this.#perCaller.set(caller, n);
      else this.#perCaller.delete(caller);
    };
  }

  /** Waits open now (for metrics and tests). */
  get open(): number {
    return this.#open;
  }
}
