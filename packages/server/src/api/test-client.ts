import type { FastifyInstance } from 'fastify';
import { signRestRequest } from '../auth/rest-signing.js';

export type Credentials =
  { readonly apiKey: string; readonly secretKey: string } | { readonly token: string };

export interface ApiAnswer {
  readonly status: number;
  // Answers are JSON of many shapes; tests read the fields they assert.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
  readonly headers: Record<string, string | string[] | undefined>;
}

export interface RequestOptions {
  readonly query?: Record<string, string>;
  readonly body?: unknown;
  /** Send this exact query string instead of signing (to replay or tamper). */
  readonly rawQuery?: string;
  readonly headers?: Record<string, string>;
}

/**
 * A small client of the REST API for tests and tools: signs with an API key (docs/api.md) or
 * sends a session token, over a real socket (`url`) or Fastify's inject (`app`).
 */
export class ApiClient {
  constructor(
    private readonly target: { readonly app: FastifyInstance } | { readonly url: string },
    private readonly creds: Credentials | null,
  ) {}

  as(creds: Credentials | null): ApiClient {
    return new ApiClient(this.target, creds);
  }

  /** The query string this client would send (signed when it holds an API key). */
  sign(method: string, path: string, query: Record<string, string> = {}, body?: string): string {
    if (this.creds && 'apiKey' in this.creds) {
      return signRestRequest({
        method,
        path,
        query,
        body,
        apiKey: this.creds.apiKey,
        secretKey: this.creds.secretKey,
      });
    }
    return new URLSearchParams(query).toString();
  }

  async request(method: string, path: string, opts: RequestOptions = {}): Promise<ApiAnswer> {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const qs = opts.rawQuery ?? this.sign(method, path, opts.query, body);
    const url = qs ? `${path}?${qs}` : path;
    const headers: Record<string, string> = { ...opts.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.creds && 'token' in this.creds) headers['authorization'] = `Bearer ${this.creds.token}`;
    if ('app' in this.target) {
      const r = await this.target.app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(body !== undefined ? { payload: body } : {}),
      });
      const text = r.body;
      const h = r.headers as Record<string, string | string[] | undefined>;
      return {
        status: r.statusCode,
        body: text && String(h['content-type'] ?? '').includes('json') ? JSON.parse(text) : text,
        headers: h,
      };
    }
    const r = await fetch(this.target.url + url, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    const text = await r.text();
    return {
      status: r.status,
      body: text && (r.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text,
      headers: Object.fromEntries(r.headers.entries()),
    };
  }

  get(path: string, query?: Record<string, string>): Promise<ApiAnswer> {
    return this.request('GET', path, query ? { query } : {});
  }
  post(path: string, body?: unknown, query?: Record<string, string>): Promise<ApiAnswer> {
    return this.request('POST', path, { body: body ?? {}, ...(query ? { query } : {}) });
  }
  put(path: string, body?: unknown): Promise<ApiAnswer> {
    return this.request('PUT', path, { body: body ?? {} });
  }
  delete(path: string): Promise<ApiAnswer> {
    return this.request('DELETE', path);
  }
}
