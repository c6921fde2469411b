import fc from 'fast-check';

/**
 * Test support for the contract fuzzer (fuzz.int.test.ts): hostile values and requests generated
 * from the API's own description (an OpenAPI operation's JSON schemas, a CloudStack command's
 * listApis parameters). Seeded by fast-check, so a failure names the seed that replays it.
 */

/** Values that have broken parsers, SQL, shells and HTML before; each is a plain string. */
export const NASTY_STRINGS: readonly string[] = [
  '',
  ' ',
  "'",
  '"',
  "' OR '1'='1",
  "'; DROP TABLE volumes; --",
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '$(reboot)',
  '`id`',
  '; rm -rf / #',
  '| cat /etc/passwd',
  '../../../../etc/passwd',
  '..',
  '.',
  '/',
  '%00',
  '\u0000',
  '\u0007\u001b[31m',
  '\r\nX-Injected: 1',
  '\u202eevil',
  '\ud800',
  '𝕊𝕥𝕣𝕒𝕥𝕒 🚀 中文 עברית',
  'NaN',
  'Infinity',
  '-1',
  '0',
  '-0',
  '1e309',
  '0x7fffffff',
  '99999999999999999999999999999999',
  '-9223372036854775809',
  '9007199254740993',
  '1.5',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '{"$ne":null}',
  '__proto__',
  'constructor',
  '2026-13-45T99:99:99Z',
  '1970-01-01T00:00:00Z',
  '%',
  '%%32%65',
  '\\',
  '*',
  '?',
  '#',
  '&',
  '=',
  'a'.repeat(300),
];

const hugeString = fc.constantFrom('x'.repeat(5000), '\u00e9'.repeat(20_000), "'".repeat(70_000));

/** A string that is anything but a sane value. */
export const nastyString = (opts: { huge?: boolean } = {}): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
    ...(opts.huge ? [{ weight: 1, arbitrary: hugeString }] : []),
  );

/** Numbers a handler may not expect: negative, fractional, past 2^53, the extremes of a double. */
export const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(-1, 0, -0, 1.5, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, -1e308, Number.MIN_VALUE),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON, nested a few levels, with nasty leaves. */
export const nastyJson: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nastyString(),
    nastyNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(nastyString(), fc.constantFrom('__proto__', 'constructor')), tie('v'), {
      maxKeys: 4,
    }),
  ),
})).v;

/** The subset of JSON schema the API's request bodies use. */
export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly anyOf?: readonly JsonSchema[];
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly maxItems?: number;
}

/** Which ids a field named like this takes (`poolId` a pool's), so a request can be valid. */
const ID_PREFIX: Readonly<Record<string, string>> = {
  zoneId: 'zone',
  clusterId: 'cluster',
  hostId: 'host',
  poolId: 'pool',
  offeringId: 'off',
  templateId: 'tmpl',
  vmId: 'vm-',
  volumeId: 'vol',
  volumeIds: 'vol',
  snapshotId: 'vsnap',
  vmSnapshotId: 'vmsnap',
  accountId: 'acct',
  userId: 'user',
};

/** A value meant to pass `schema`, so that requests reach the handlers, not only the validator. */
function plausible(schema: JsonSchema, ids: readonly string[], key = ''): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.anyOf?.length) return fc.oneof(...schema.anyOf.map((s) => plausible(s, ids, key)));
  const types: readonly string[] =
    schema.type === undefined ? [] : typeof schema.type === 'string' ? [schema.type] : schema.type;
  const t = types.find((x) => x !== 'null') ?? 'object';
  switch (t) {
    case 'string': {
      const prefix = ID_PREFIX[key];
      const fitting = prefix ? ids.filter((id) => id.startsWith(prefix)) : [];
      return fc.oneof(
        { weight: fitting.length ? 4 : 0, arbitrary: fc.constantFrom(...(fitting.length ? fitting : ['x'])) },
        fc.constantFrom(...(ids.length ? ids : ['x'])),
        fc.string({
          minLength: Math.max(1, schema.minLength ?? 1),
          maxLength: Math.min(40, schema.maxLength ?? 40),
        }),
        nastyString(),
      );
    }
    case 'integer':
      return fc.oneof(fc.constantFrom(1, 100, 1024 ** 3), fc.integer({ min: 0, max: 2 ** 40 }), nastyNumber);
    case 'number':
      return nastyNumber;
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(schema.items ? plausible(schema.items, ids, key) : nastyJson, {
        maxLength: Math.min(5, schema.maxItems ?? 5),
      });
    default:
      return bodyFor(schema, ids);
  }
}

/**
 * A body for an operation's schema: each field plausible, hostile or missing, sometimes an
 * extra one, sometimes the whole body replaced by junk of another type.
 */
export function bodyFor(schema: JsonSchema, ids: readonly string[]): fc.Arbitrary<unknown> {
  const props = schema.properties ?? {};
  const field = (s: JsonSchema, key: string) =>
    fc.oneof({ weight: 3, arbitrary: plausible(s, ids, key) }, { weight: 1, arbitrary: nastyJson });
  const record = fc.record(Object.fromEntries(Object.entries(props).map(([k, s]) => [k, field(s, k)])), {
    requiredKeys: [],
  });
  const withExtra = fc
    .tuple(record, fc.dictionary(nastyString(), nastyJson, { maxKeys: 2 }))
    .map(([r, extra]) => ({ ...extra, ...r }));
  return fc.oneof(
    { weight: 5, arbitrary: record },
    { weight: 1, arbitrary: withExtra },
    { weight: 1, arbitrary: nastyJson },
  );
}

/** Drops the keys fast-check left out (an optional key may come as undefined). */
export function defined(r: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k] = v;
  return out;
}

/** A CloudStack parameter as listApis describes it. */
export interface CsParam {
  readonly name: string;
  readonly type: string;
  readonly required: boolean;
}

/** A plausible or hostile value of a CloudStack parameter type, as the query string carries it. */
export function csValue(type: string, ids: readonly string[]): fc.Arbitrary<string> {
  const typed =
    type === 'uuid'
      ? fc.constantFrom(...(ids.length ? ids : ['x']))
      : type === 'integer' || type === 'long'
        ? fc.oneof(
            fc.integer().map(String),
            fc.constantFrom('-1', '0', '2147483648', '9223372036854775808', '1.5', '1e3'),
          )
        : type === 'boolean'
          ? fc.constantFrom('true', 'false', 'TRUE', 'yes', '1')
          : fc.string({ maxLength: 30 });
  return fc.oneof({ weight: 2, arbitrary: typed }, { weight: 2, arbitrary: nastyString({ huge: false }) });
}

/** Parameters for one command: documented ones present, missing or hostile; map syntax; extras. */
export function csParamsFor(
  params: readonly CsParam[],
  ids: readonly string[],
): fc.Arbitrary<Record<string, string>> {
  const documented = fc.record(Object.fromEntries(params.map((p) => [p.name, csValue(p.type, ids)])), {
    requiredKeys: [],
  });
  const extras = fc.dictionary(
    fc.oneof(
      nastyString(),
      fc.constantFrom('details[0].key', 'tags[0].value', 'command', 'response', 'id[]'),
    ),
    nastyString(),
    { maxKeys: 2 },
  );
  return fc.tuple(documented, extras).map(([d, e]) => defined({ ...e, ...d }));
}
