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

const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)([^/@]*)(@.*)$/is;

/** `scheme://user:password@host/...` as the text before the password, the password, the rest; null without one. */
export function splitUrlPassword(url: string): { before: string; password: string; after: string } | null {
  const m = URL_PASSWORD.exec(url);
  return m ? { before: m[1] ?? '', password: m[2] ?? '', after: m[3] ?? '' } : null;
}

/** The same URL with its password (if any) replaced by `f(password)`. */
export function mapUrlPassword(url: string, f: (password: string) => string): string {
  const parts = splitUrlPassword(url);
  return parts ? `${parts.before}${f(parts.password)}${parts.after}` : url;
}

/** `scheme://user:password@host/...` keeps the user and loses the password. */
export function maskUrl(url: string): string {
  return mapUrlPassword(url, () => MASKED);
}
