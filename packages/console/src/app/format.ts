const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return 'unknown';
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${UNITS[u]}`;
}

/** Durations rounded to what a reader can use (a freeze of 405.99776 ms reads 406 ms). */
export function ms(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  return n >= 10 ? `${Math.round(n)} ms` : `${n.toFixed(1)} ms`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

export function pct(used: number, of: number): number {
  return of > 0 ? Math.min(100, Math.round((used / of) * 100)) : 0;
}
