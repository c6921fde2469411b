import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api/client.js';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: ApiError | Error | undefined;
  reload(): void;
}

/**
 * Loads with `load` and again every `everyMs` (live pages poll); the last answer stays shown while
 * the next is on its way, so nothing jumps.
 */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  /** Poll period; a function may stop polling (0) once the answer is final. */
  everyMs: number | ((d: T) => number) = 0,
): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | Error | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const again = (period: number) => {
      if (live && period > 0) timer = setTimeout(run, period);
    };
    const run = () => {
      load().then(
        (d) => {
          if (!live) return;
          setData(d);
          setError(undefined);
          again(typeof everyMs === 'function' ? everyMs(d) : everyMs);
        },
        (e: unknown) => {
          if (!live) return;
          setError(e instanceof Error ? e : new Error(String(e)));
          again(typeof everyMs === 'function' ? 2000 : everyMs);
        },
      );
    };
    run();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}
