import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { StrataError } from '@strata/core';
import { LIMIT_SOURCES, readLimits, type LimitSettings } from './limits/settings.js';
import { DEFAULT_AUDIT_RETENTION_DAYS } from './services/audit-retention.js';

export interface ServerConfig {
  /** Where the embedded database, the bootstrap credentials and other state live. */
  readonly dataDir: string;
  /** `postgres://…` for a PostgreSQL server; otherwise a PGlite data directory (or `memory:`). */
  readonly databaseUrl: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly logLevel: string;
  /** Run the durable job engine in this process (default true). */
  readonly jobs: boolean;
  /** This server's id among several on one database (default: host + pid + random). */
  readonly serverId?: string;
  /**
   * Directories a template's files may be in (default: DATA_DIR/templates and
   * /var/lib/strata/templates). docs/security.md.
   */
  readonly templateDirs?: readonly string[];
  /**
   * Accept CloudStack-API signatures without `expires` (signatureVersion=3) for state-changing
   * commands, for old clients; off by default. docs/security.md.
   */
  readonly cloudstackAllowUnexpiring?: boolean;
  /** Rate limits and long-poll caps (default DEFAULT_LIMITS). docs/api.md, "Limits". */
  readonly limits?: LimitSettings;
  /**
   * The key that seals stored secrets (default DATA_DIR/secrets.key, created on first start).
   * Servers sharing a database must all hold the same key. docs/security.md.
   */
  readonly secretsKeyFile?: string;
  /**
   * Days audit events are kept; older ones are pruned hourly (default 90; 0 keeps them all).
   * docs/security.md, "Audit trail".
   */
  readonly auditRetentionDays?: number;
  /**
   * Seconds a destroyed VM stays recoverable before the expunge sweep removes it (default 86400,
   * CloudStack's expunge.delay). docs/api.md, "VM lifecycle".
   */
  readonly vmExpungeDelaySeconds?: number;
}

/** Where the secrets key is when no --secrets-key-file is given. */
export function defaultSecretsKeyFile(dataDir: string): string {
  return join(dataDir, 'secrets.key');
}

/** Where templates may be when no --template-dir is given. */
export function defaultTemplateDirs(dataDir: string): string[] {
  return [join(dataDir, 'templates'), '/var/lib/strata/templates'];
}

const HELP = `strata-server [options]
  --data-dir DIR        state directory (STRATA_DATA_DIR; default ~/.strata)
  --database-url URL    postgres://… or a PGlite directory (STRATA_DATABASE_URL; default DIR/db)
  --host HOST           listen address (STRATA_HOST; default 127.0.0.1)
  --port PORT           listen port (STRATA_PORT; default 8080)
  --log-level LEVEL     pino level (STRATA_LOG_LEVEL; default info)
  --no-jobs             do not run jobs in this process (STRATA_JOBS=0)
  --server-id ID        id among servers sharing a database (STRATA_SERVER_ID)
  --template-dir DIR    a directory template files may be in; repeatable
                        (STRATA_TEMPLATE_DIRS, ':'-separated; default DIR/templates and
                        /var/lib/strata/templates)
  --cloudstack-allow-unexpiring
                        accept CloudStack-API signatures without expires for state-changing
                        commands, for old clients (STRATA_CLOUDSTACK_ALLOW_UNEXPIRING=1)
  --rate-limit N        requests per minute per API key or session user (STRATA_RATE_LIMIT;
                        default 6000; 0: none)
  --rate-limit-anonymous N
                        unauthenticated requests per minute per address
                        (STRATA_RATE_LIMIT_ANONYMOUS; default 1200; 0: none)
  --job-waits N         long-poll job waits open at once (STRATA_JOB_WAITS; default 1000)
  --job-waits-per-user N
                        long-poll job waits open at once per user
                        (STRATA_JOB_WAITS_PER_USER; default 50)
  --secrets-key-file PATH
                        the key sealing stored secrets, mode 0600; the same key on every
                        server of one database (STRATA_SECRETS_KEY_FILE; default DIR/secrets.key)
  --audit-retention-days N
                        days audit events are kept, pruned hourly (STRATA_AUDIT_RETENTION_DAYS;
                        default 90; 0: keep all)
  --vm-expunge-delay S  seconds a destroyed VM stays recoverable before it is expunged
                        (STRATA_VM_EXPUNGE_DELAY; default 86400)`;

export const USAGE = HELP;

/** Reads flags first, then STRATA_* environment variables, then defaults. */
export function loadConfig(
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): ServerConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'log-level': { type: 'string' },
      'no-jobs': { type: 'boolean' },
      'server-id': { type: 'string' },
      'template-dir': { type: 'string', multiple: true },
      'cloudstack-allow-unexpiring': { type: 'boolean' },
      ...Object.fromEntries(LIMIT_SOURCES.map((l) => [l.flag, { type: 'string' as const }])),
      'secrets-key-file': { type: 'string' },
      'audit-retention-days': { type: 'string' },
      'vm-expunge-delay': { type: 'string' },
    },
    strict: true,
  });
  const dataDir = resolve(values['data-dir'] ?? env['STRATA_DATA_DIR'] ?? join(homedir(), '.strata'));
  const portText = values.port ?? env['STRATA_PORT'] ?? '8080';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'port',
      reason: `"${portText}" is not a port number`,
    });
  }
  const serverId = values['server-id'] ?? env['STRATA_SERVER_ID'];
  const dirsEnv = env['STRATA_TEMPLATE_DIRS'];
  const templateDirs = (
    values['template-dir'] ?? (dirsEnv ? dirsEnv.split(':') : defaultTemplateDirs(dataDir))
  ).filter((d) => d !== '');
  const retentionText =
    values['audit-retention-days'] ??
    env['STRATA_AUDIT_RETENTION_DAYS'] ??
    String(DEFAULT_AUDIT_RETENTION_DAYS);
  const auditRetentionDays = Number(retentionText);
  if (!/^\d+$/.test(retentionText.trim()) || !Number.isSafeInteger(auditRetentionDays))
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'audit-retention-days',
      reason: `"${retentionText}" is not a whole number of days`,
    });
  const delayText = values['vm-expunge-delay'] ?? env['STRATA_VM_EXPUNGE_DELAY'] ?? '86400';
  const vmExpungeDelaySeconds = Number(delayText);
  if (!/^\d+$/.test(delayText.trim()) || !Number.isSafeInteger(vmExpungeDelaySeconds))
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'vm-expunge-delay',
      reason: `"${delayText}" is not a whole number of seconds`,
    });
  for (const d of templateDirs)
    if (!isAbsolute(d))
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'template-dir',
        reason: `"${d}" is not an absolute path`,
      });
  return {
    dataDir,
    databaseUrl: values['database-url'] ?? env['STRATA_DATABASE_URL'] ?? join(dataDir, 'db'),
    host: values.host ?? env['STRATA_HOST'] ?? '127.0.0.1',
    port,
    logLevel: values['log-level'] ?? env['STRATA_LOG_LEVEL'] ?? 'info',
    jobs: !(values['no-jobs'] ?? env['STRATA_JOBS'] === '0'),
    ...(serverId ? { serverId } : {}),
    templateDirs,
    cloudstackAllowUnexpiring:
      values['cloudstack-allow-unexpiring'] ?? env['STRATA_CLOUDSTACK_ALLOW_UNEXPIRING'] === '1',
    limits: readLimits(values as Record<string, string | undefined>, env),
    auditRetentionDays,
    vmExpungeDelaySeconds,
    secretsKeyFile: resolve(
      values['secrets-key-file'] ?? env['STRATA_SECRETS_KEY_FILE'] ?? defaultSecretsKeyFile(dataDir),
    ),
  };
}
