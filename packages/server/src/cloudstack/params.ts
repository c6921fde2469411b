import { StrataError } from '@strata/core';

/** CloudStack's parameter types, as listApis reports them. */
export type ParamType = 'uuid' | 'string' | 'integer' | 'long' | 'boolean' | 'map' | 'list';

export interface ParamSpec {
  readonly type: ParamType;
  readonly required?: boolean;
  readonly description: string;
}

export type ParamSchema = Readonly<Record<string, ParamSpec>>;

/** A parsed value: maps come as `name[0].key=value` and arrive as a list of records. */
export type ParamValue =
  string | number | boolean | readonly string[] | readonly Readonly<Record<string, string>>[];

export type Parsed = Readonly<Record<string, ParamValue | undefined>>;

// Ids are opaque here; the services decide whether one exists. This only keeps out garbage.
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Parameters CloudStack accepts on every command; never checked against a schema. */
export const COMMON_PARAMS = new Set([
  'command',
  'response',
  'apikey',
  'signature',
  'signatureversion',
  'expires',
  'sessionkey',
  '_',
]);

function invalid(command: string, param: string, value: string, reason: string): StrataError {
  return new StrataError('CLOUDSTACK_INVALID_PARAMETER', {
    command,
    param,
    value: value.slice(0, 200),
    reason,
  });
}

function parseOne(command: string, name: string, spec: ParamSpec, raw: string): ParamValue {
  switch (spec.type) {
    case 'uuid':
      if (!ID.test(raw)) throw invalid(command, name, raw, 'incorrect id format');
      return raw;
    case 'integer':
    case 'long': {
      if (!/^-?\d+$/.test(raw)) throw invalid(command, name, raw, `incorrect ${spec.type} value format`);
      const n = Number(raw);
      if (!Number.isSafeInteger(n)) throw invalid(command, name, raw, 'value out of range');
      if (spec.type === 'integer' && Math.abs(n) > 2 ** 31 - 1)
        throw invalid(command, name, raw, 'value out of range');
      return n;
    }
    case 'boolean': {
      const v = raw.toLowerCase();
      if (v !== 'true' && v !== 'false') throw invalid(command, name, raw, 'it is not true or false');
      return v === 'true';
    }
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    case 'string':
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(raw))
        throw invalid(command, name, raw, 'control characters');
      return raw;
    case 'map':
      throw invalid(command, name, raw, 'a map is given as name[0].key=value');
  }
}

/**
 * Checks and converts request parameters against a command's schema. Names are matched without
 * regard to case, as CloudStack does. Unknown parameters are ignored (CloudStack ignores them too).
 */
export function parseParams(
  command: string,
  schema: ParamSchema,
  raw: Readonly<Record<string, string>>,
): Parsed {
  const lower = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) lower.set(k.toLowerCase(), v);
  const out: Record<string, ParamValue> = {};
  for (const [name, spec] of Object.entries(schema)) {
    if (spec.type === 'map') {
      const rows = collectMap(name, lower);
      if (rows.length > 0) out[name] = rows;
      else if (spec.required) throw new StrataError('CLOUDSTACK_MISSING_PARAMETER', { command, param: name });
      continue;
    }
    const value = lower.get(name);
    if (value === undefined || value === '') {
      if (spec.required) throw new StrataError('CLOUDSTACK_MISSING_PARAMETER', { command, param: name });
      continue;
    }
    out[name] = parseOne(command, name, spec, value);
  }
  return out;
}

/** `details[0].key=a&details[0].value=b` (or `details[0].a=b`) → [{key:'a', value:'b'}] in index order. */
function collectMap(name: string, lower: ReadonlyMap<string, string>): Record<string, string>[] {
  const rows = new Map<number, Record<string, string>>();
  const re = new RegExp(`^${name}\\[(\\d+)\\]\\.(.+)$`);
  for (const [k, v] of lower) {
    const m = re.exec(k);
    if (!m?.[1] || !m[2]) continue;
    const i = Number(m[1]);
    const row = rows.get(i) ?? {};
    row[m[2]] = v;
    rows.set(i, row);
  }
  return [...rows.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r);
}

/** Typed readers over a parsed record: the schema already checked the types. */
export const read = {
  str: (p: Parsed, k: string): string | undefined => (typeof p[k] === 'string' ? p[k] : undefined),
  num: (p: Parsed, k: string): number | undefined => (typeof p[k] === 'number' ? p[k] : undefined),
  bool: (p: Parsed, k: string, dflt: boolean): boolean => (typeof p[k] === 'boolean' ? p[k] : dflt),
  map: (p: Parsed, k: string): Record<string, string> => {
    const v = p[k];
    const out: Record<string, string> = {};
    if (!Array.isArray(v)) return out;
    for (const row of v as Readonly<Record<string, string>>[]) {
      // CloudStack sends both shapes: {key, value} pairs and {name: value} rows.
      if (row['key'] !== undefined && row['value'] !== undefined) out[row['key']] = row['value'];
      else Object.assign(out, row);
    }
    return out;
  },
  required<T>(v: T | undefined): T {
    if (v === undefined) throw new Error('schema marks this parameter required');
    return v;
  },
};
