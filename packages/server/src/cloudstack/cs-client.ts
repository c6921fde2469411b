import { execFile } from 'node:child_process';

/** Test support: runs Debian's real CloudStack client (`cloudstack`, from package `cs`) as a process. */
export interface CsTarget {
  readonly endpoint: string;
  readonly key: string;
  readonly secret: string;
}

export interface CsRun {
  /** Process exit code: 0 on success, 1 when the server answered an error. */
  readonly code: number;
  /** What the client printed on stdout, parsed (it prints JSON both for answers and for errors). */
  readonly json: Record<string, unknown> | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CsOptions {
  readonly post?: boolean;
  /** Do not poll an async job (cs's --async). */
  readonly noWait?: boolean;
  /** Seconds of validity for signature v3; negative sends an unversioned (v1) signature. */
  readonly expiration?: number;
  readonly timeoutMs?: number;
}

export function cloudstack(
  target: CsTarget,
  command: string,
  args: Readonly<Record<string, string>> = {},
  opts: CsOptions = {},
): Promise<CsRun> {
  const argv = [...(opts.post ? ['--post'] : []), ...(opts.noWait ? ['--async'] : []), '--quiet', command];
  for (const [k, v] of Object.entries(args)) argv.push(`${k}=${v}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CLOUDSTACK_ENDPOINT: target.endpoint,
    CLOUDSTACK_KEY: target.key,
    CLOUDSTACK_SECRET: target.secret,
    CLOUDSTACK_TIMEOUT: '60',
    CLOUDSTACK_POLL_INTERVAL: '0.3',
    ...(opts.expiration !== undefined ? { CLOUDSTACK_EXPIRATION: String(opts.expiration) } : {}),
  };
  delete env['CLOUDSTACK_CONFIG'];
  delete env['CLOUDSTACK_REGION'];
  return new Promise((resolve, reject) => {
    execFile(
      'cloudstack',
      argv,
      { env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number')
          return reject(err instanceof Error ? err : new Error('process failed'));
        let json: Record<string, unknown> | null = null;
        try {
          json = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : null;
        } catch {
          json = null;
        }
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, json, stdout, stderr });
      },
    );
  });
}
