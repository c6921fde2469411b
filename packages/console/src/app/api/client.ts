import type { paths } from './schema.js';

type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : never;
type Op<P extends keyof paths, M extends string> = paths[P] extends Record<M, infer O> ? O : never;
type OkOf<O> = O extends { responses: infer Rs } ? JsonOf<Rs[keyof Rs & (200 | 201 | 202)]> : never;
type BodyOf<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
type PathsWith<M extends string> = {
  [P in keyof paths]: Op<P, M> extends never ? never : Op<P, M> extends undefined ? never : P;
}[keyof paths];

/** A route's answer as the OpenAPI document (schema.ts, generated) describes it. */
export type Answer<P extends keyof paths, M extends 'get' | 'post' | 'put' | 'delete' = 'get'> = OkOf<
  Op<P, M>
>;
export type Body<P extends keyof paths, M extends 'post' | 'put'> = BodyOf<Op<P, M>>;
export type Query = Record<string, string | number | boolean | undefined>;

/** A refusal from the API: its coded error (docs/errors.md). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

function fill(path: string, params: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(params[k] ?? ''));
}

function search(query: Query | undefined): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * The REST API as the browser calls it: the session's bearer token in a header (never a cookie,
 * so no other site's page can make the browser send it: docs/security.md).
 */
export class Api {
  constructor(
    private readonly token: string,
    /** Told when the server no longer accepts the token (expired, logged out elsewhere). */
    private readonly onUnauthenticated: () => void,
  ) {}

  private async send(method: string, url: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(url, {
      method,
      headers,
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    if (r.status === 204) return undefined;
    const text = await r.text();
    const json: unknown = text ? JSON.parse(text) : undefined;
    if (!r.ok) {
      const e = (json as { error?: { code?: string; message?: string; details?: Record<string, unknown> } })
        ?.error;
      if (r.status === 401) this.onUnauthenticated();
      throw new ApiError(r.status, e?.code ?? 'HTTP_' + r.status, e?.message ?? r.statusText, e?.details);
    }
    return json;
  }

  get<P extends PathsWith<'get'>>(
    path: P,
    params: Record<string, string> = {},
    query?: Query,
  ): Promise<Answer<P, 'get'>> {
    return this.send('GET', fill(path, params) + search(query)) as Promise<Answer<P, 'get'>>;
  }

  post<P extends PathsWith<'post'>>(
    path: P,
    params: Record<string, string>,
    body?: Body<P, 'post'>,
    query?: Query,
  ): Promise<Answer<P, 'post'>> {
    return this.send('POST', fill(path, params) + search(query), body ?? {}) as Promise<Answer<P, 'post'>>;
  }

  put<P extends PathsWith<'put'>>(
    path: P,
    params: Record<string, string>,
    body: Body<P, 'put'>,
  ): Promise<Answer<P, 'put'>> {
    return this.send('PUT', fill(path, params), body) as Promise<Answer<P, 'put'>>;
  }

  delete<P extends PathsWith<'delete'>>(
    path: P,
    params: Record<string, string>,
  ): Promise<Answer<P, 'delete'>> {
    return this.send('DELETE', fill(path, params)) as Promise<Answer<P, 'delete'>>;
  }
}
