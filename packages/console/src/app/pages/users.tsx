import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { useLoad } from '../use-load.js';
import { when } from '../format.js';
import { Badge, ErrorLine, Placeholder } from '../parts/common.js';
import { Confirm } from '../parts/dialog.js';

const ROLES = ['user', 'account-admin', 'admin'] as const;
type Role = (typeof ROLES)[number];

/** Users (operators): every account's, or one account's; create one with a password, change a role. */
export function Users({ session, accountId }: { session: Session; accountId: string }) {
  const { api } = session;
  const data = useLoad(
    async () => ({
      users: (await api.get('/v1/users', {}, { limit: 200, ...(accountId && { accountId }) })).items,
      accounts: (await api.get('/v1/accounts', {}, { limit: 200 })).items,
    }),
    [accountId],
  );
  const [error, setError] = useState<Error | undefined>(undefined);
  const [disabling, setDisabling] = useState<{ id: string; username: string } | null>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    const get = (k: string) => (f.get(k) as string | null) ?? '';
    try {
      await api.post(
        '/v1/accounts/{id}/users',
        { id: get('user-account') },
        { username: get('username').trim(), password: get('password'), role: get('user-role') as Role },
      );
      form.reset();
      data.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const setRole = async (id: string, role: Role) => {
    setError(undefined);
    await api.put('/v1/users/{id}/role', { id }, { role }).then(
      () => data.reload(),
      (e: unknown) => setError(e as Error),
    );
  };
  const setDisabled = async (id: string, disabled: boolean) => {
    setError(undefined);
    await api.put('/v1/users/{id}/disabled', { id }, { disabled }).then(
      () => data.reload(),
      (e: unknown) => setError(e as Error),
    );
  };
  const name = (id: string) => data.data?.accounts.find((a) => a.id === id)?.name ?? id.slice(0, 8);
  return (
    <div class="page">
      <h1>Users</h1>
      <form class="actions" aria-label="create a user" onSubmit={(e) => void create(e)}>
        <label>
          Account
          <select name="user-account" required>
            {data.data?.accounts.map((a) => (
              <option key={a.id} value={a.id} selected={a.id === accountId}>
                {a.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Username <input name="username" required maxLength={128} autocomplete="off" />
        </label>
        <label>
          Password{' '}
          <input name="password" type="password" required minLength={8} autocomplete="new-password" />
        </label>
        <label>
          Role
          <select name="user-role">
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit">Create user</button>
      </form>
      <ErrorLine error={error ?? data.error} />
      {!data.data ? (
        <Placeholder rows={4} />
      ) : (
        <table class="users">
          <thead>
            <tr>
              <th>Username</th>
              <th>Account</th>
              <th>Role</th>
              <th>State</th>
              <th>Keys</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {data.data.users.map((u) => (
              <tr key={u.id} data-user-id={u.id}>
                <td>{u.username}</td>
                <td>{name(u.accountId)}</td>
                <td>
                  <select
                    aria-label={`role of ${u.username}`}
                    value={u.role}
                    onChange={(e) => void setRole(u.id, (e.target as HTMLSelectElement).value as Role)}
                  >
                    {ROLES.map((r) => (
                      <option key={r}>{r}</option>
                    ))}
                  </select>
                </td>
                <td>
                  <div class="actions">
                    <Badge state={u.disabledAt ? 'Disabled' : 'Enabled'} />
                    {u.disabledAt ? (
                      <button onClick={() => void setDisabled(u.id, false)}>Enable</button>
                    ) : (
                      <button class="danger" onClick={() => setDisabling(u)}>
                        Disable
                      </button>
                    )}
                  </div>
                </td>
                <td>
                  <a href={`#/keys?user=${u.id}`}>API keys</a>
                </td>
                <td>{when(u.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {disabling && (
        <Confirm
          title="Disable this user?"
          label="Confirm disable"
          danger
          onClose={() => setDisabling(null)}
          onConfirm={() => void setDisabled(disabling.id, true)}
        >
          <p>
            <strong>{disabling.username}</strong> can no longer log in; its sessions end and its API keys stop
            working until it is enabled again.
          </p>
        </Confirm>
      )}
    </div>
  );
}
