import { signRestRequest } from '@strata/server/auth/rest-signing';
import type { Profile } from './config.js';

/** A failure with the server's registry code (or a local one: CONNECTION_FAILED, NO_CREDENTIALS). */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number | null = null,
    readonly details: unknown = undefined,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface RequestOptions {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
}

/**
 * The REST API (/v1), every request signed with the server's own scheme (auth/rest-signing):
 * HMAC-SHA1 over the sorted parameters plus method, path and body hash, signatureVersion 3.
 */
export class ApiClient {
  constructor(private readonly profile: Profile) {}

  get endpoint(): string {
    return this.profile.endpoint;
  }

  /**
   * Sends a signed request. A refusal by the server's limits (429 RATE_LIMITED, sent before
   * anything was done) is retried, signed afresh, after its Retry-After: at most `retries` times.
   */
  async request<T>(method: string, path: string, opts: RequestOptions = {}, retries = 3): Promise<T> {
    try {
      return await this.#send<T>(method, path, opts);
    } catch (e) {
      if (!(e instanceof CliError) || e.code !== 'RATE_LIMITED' || retries <= 0) throw e;
      const seconds = (e.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
      const wait = typeof seconds === 'number' && seconds > 0 ? Math.min(seconds, 60) : 1;
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      return this.request<T>(method, path, opts, retries - 1);
    }
  }

  async #send<T>(method: string, path: string, opts: RequestOptions): Promise<T> {
    const { apiKey, secretKey } = this.profile;
    if (!apiKey || !secretKey) {
      throw new CliError(
        'NO_CREDENTIALS',
        'no API key: run `strata config set-profile default --endpoint URL --api-key KEY --secret-key SECRET` or set STRATA_API_KEY and STRATA_SECRET_KEY',
      );
    }
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined && v !== '') query[k] = String(v);
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const qs = signRestRequest({
      method,
      path,
      query,
      ...(body !== undefined ? { body } : {}),
      apiKey,
      secretKey,
    });
    let res: Response;
    try {
      res = await fetch(`${this.profile.endpoint}${path}?${qs}`, {
        method,
        ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        'CONNECTION_FAILED',
        `cannot reach ${this.profile.endpoint}: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
      );
    }
    const text = await res.text();
    let json: unknown = undefined;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)
        ?.error;
      throw new CliError(
        err?.code ?? `HTTP_${res.status}`,
        err?.message ?? (text.slice(0, 200) || res.statusText),
        res.status,
        err?.details,
      );
    }
    return json as T;
  }

  get<T>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('GET', path, query ? { query } : {});
  }
}
