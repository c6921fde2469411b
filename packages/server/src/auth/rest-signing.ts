import { createHash } from 'node:crypto';
import { encodeValue, signParams, type SignedParams } from './signature.js';

/**
 * How the REST API extends CloudStack's signature to cover what CloudStack's scheme leaves out:
 * the method, the path and the body. Three implied parameters join the query parameters in the
 * signed string; the client does not send them, the server derives them from the request:
 *   requestMethod = the HTTP method (GET, POST, ...)
 *   requestPath   = the path without the query string (/v1/volumes)
 *   contentHash   = lower-case hex SHA-256 of the exact body bytes (of the empty string if none)
 * A changed body, method or path therefore fails as AUTH_BAD_SIGNATURE.
 */
export function contentHash(body: string | Buffer | undefined): string {
  return createHash('sha256')
    .update(body ?? '')
    .digest('hex');
}

export function restSignedParams(
  method: string,
  path: string,
  query: SignedParams,
  body: string | Buffer | undefined,
): Record<string, string | readonly string[] | undefined> {
  return { ...query, requestMethod: method.toUpperCase(), requestPath: path, contentHash: contentHash(body) };
}

/** CloudStack's `expires` format: yyyy-MM-ddTHH:mm:ss+0000. */
export function formatExpires(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, '+0000');
}

export interface RestSigningInput {
  readonly method: string;
  /** Path without query string. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly apiKey: string;
  readonly secretKey: string;
  /** Default 300 s. */
  readonly ttlSeconds?: number;
  readonly now?: Date;
}

/**
 * Client side of the scheme: returns the full query string to send (query parameters, apiKey,
 * signatureVersion, expires, a random nonce and signature). Used by the CLI, the web console and tests.
 */
export function signRestRequest(input: RestSigningInput): string {
  const now = input.now ?? new Date();
  const query: Record<string, string> = {
    ...input.query,
    apiKey: input.apiKey,
    signatureVersion: '3',
    expires: formatExpires(new Date(now.getTime() + (input.ttlSeconds ?? 300) * 1000)),
    nonce: Math.random().toString(36).slice(2, 12),
  };
  const signature = signParams(
    restSignedParams(input.method, input.path, query, input.body),
    input.secretKey,
  );
  return Object.entries({ ...query, signature })
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeValue(v)}`)
    .join('&');
}
