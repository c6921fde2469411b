import { Api, ApiError, type Answer } from './api/client.js';

export type Login = Answer<'/v1/auth/login', 'post'>;

const KEY = 'strata.session';

/**
 * The console's session: the bearer token of POST /v1/auth/login, kept in sessionStorage (this
 * tab only, gone when it closes), dropped at its expiry, on logout, or on the first 401.
 */
export class Session {
  private timer: ReturnType<typeof setTimeout> | undefined;
  readonly api: Api;

  private constructor(
    readonly login: Login,
    private readonly ended: (reason: string) => void,
  ) {
    this.api = new Api(login.token, () => this.end('Your session has expired: log in again.'));
    const left = Date.parse(login.expiresAt) - Date.now();
    this.timer = setTimeout(() => this.end('Your session has expired: log in again.'), Math.max(0, left));
  }

  get operator(): boolean {
    return this.login.role === 'admin';
  }

  static restore(ended: (reason: string) => void): Session | null {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    let login: Login;
    try {
      login = JSON.parse(raw) as Login;
    } catch {
      sessionStorage.removeItem(KEY); // not ours to read: log in again
      return null;
    }
    if (!(Date.parse(login.expiresAt) > Date.now())) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return new Session(login, ended);
  }

  static async start(username: string, password: string, ended: (reason: string) => void): Promise<Session> {
    const r = await fetch('/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    const json = (await r.json()) as Login & { error?: { code: string; message: string } };
    if (!r.ok)
      throw new ApiError(r.status, json.error?.code ?? 'HTTP_' + r.status, json.error?.message ?? '');
    sessionStorage.setItem(KEY, JSON.stringify(json));
    return new Session(json, ended);
  }

  /** Ends the session on the server too (its token stops working at once). */
  async logout(): Promise<void> {
    await this.api.post('/v1/auth/logout', {}).catch(() => undefined);
    this.end('You have logged out.');
  }

  private end(reason: string): void {
    clearTimeout(this.timer);
    sessionStorage.removeItem(KEY);
    this.ended(reason);
  }
}
