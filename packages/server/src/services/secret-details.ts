/**
 * Secrets a caller stored are write-only: an answer shows that one is set, never its value.
 * A pool detail is secret when its name says so (tgt's `chapKey`, a `cephxKey`, any `*secret`,
 * `*password`, `*token`); `keyringPath` and other paths are not secrets themselves.
 */
export const MASKED = '********';

const SECRET_NAME = /(key|secret|password|passwd|token)$/i;

export function isSecretDetail(name: string): boolean {
  return SECRET_NAME.test(name);
}

export function maskDetails(details: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(details)) out[k] = isSecretDetail(k) ? MASKED : v;
  return out;
}

/** `scheme://user:password@host/...` keeps the user and loses the password. */
export function maskUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, `$1:${MASKED}@`);
}
