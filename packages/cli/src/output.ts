/** How answers are printed: aligned tables for people, JSON for scripts. */
export type OutputFormat = 'table' | 'json';

export interface Column {
  readonly header: string;
  /** Field of the record, or a function of it. */
  readonly get: string | ((row: Record<string, unknown>) => unknown);
}

export const col = (header: string, get: Column['get'] = header): Column => ({ header, get });

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'object') return JSON.stringify(value);
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  // One line per row: control characters in user-given names must not break the table.
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ');
}

export function table(rows: readonly Record<string, unknown>[], columns: readonly Column[]): string {
  const cells = rows.map((r) => columns.map((c) => cell(typeof c.get === 'string' ? r[c.get] : c.get(r))));
  const headers = columns.map((c) => c.header.toUpperCase());
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((line) => (line[i] ?? '').length)));
  const fmt = (line: readonly string[]) =>
    line.map((v, i) => (i === line.length - 1 ? v : v.padEnd(widths[i] ?? 0))).join('  ');
  return [fmt(headers), ...cells.map(fmt)].join('\n');
}

/** One record as `field: value` lines; durations (`…Ms` fields) rounded as in tables. */
export function record(row: Record<string, unknown>): string {
  const keys = Object.keys(row);
  const width = Math.max(0, ...keys.map((k) => k.length));
  return keys
    .map((k) => `${k.padEnd(width)}  ${cell(/Ms$/.test(k) ? durationMs(row[k]) : row[k])}`)
    .join('\n');
}

/**
 * A duration in milliseconds as people read it: whole milliseconds, one decimal under 10 ms
 * (measured hold times come with float noise: 405.9977690000014 reads 406).
 */
export function durationMs(n: unknown): unknown {
  if (typeof n !== 'number' || !Number.isFinite(n)) return n;
  return Math.abs(n) < 10 ? Math.round(n * 10) / 10 : Math.round(n);
}

export function humanBytes(n: unknown): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

/** `10G`, `512M`, `1T`, `1.5GiB` or plain bytes → bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!m?.[1]) throw new Error(`"${text}" is not a size (examples: 10G, 512M, 1073741824)`);
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[
    (m[2] ?? '').toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'
  ];
  return Math.round(Number(m[1]) * mult);
}

export function parseIntArg(text: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`"${text}" is not a whole number`);
  return Number(text);
}

/** A snapshot's size as the API answers it: bytes, or null with the reason. */
export interface SnapshotSize {
  readonly size: number | null;
  readonly sizeNote: string;
}

/** A size as people read it, or why there is none. */
export const sizeText = (s: SnapshotSize): string =>
  s.size === null ? `unknown (${s.sizeNote})` : `${humanBytes(s.size)} (${s.sizeNote})`;
