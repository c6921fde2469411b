import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { useLoad } from '../use-load.js';
import { when } from '../format.js';
import { ErrorLine, Placeholder } from '../parts/common.js';

const val = (e: Event, k: string) =>
  ((new FormData(e.target as HTMLFormElement).get(k) as string | null) ?? '').trim();

/** Accounts (operators): list and create; each account's users are on the Users page. */
export function Accounts({ session }: { session: Session }) {
  const { api } = session;
  const accounts = useLoad(() => api.get('/v1/accounts', {}, { limit: 200 }), []);
  const [error, setError] = useState<Error | undefined>(undefined);
  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const form = e.target as HTMLFormElement;
    try {
      await api.post(
        '/v1/accounts',
        {},
        { name: val(e, 'account-name'), role: val(e, 'account-role') as 'user' },
      );
      form.reset();
      accounts.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <div class="page">
      <h1>Accounts</h1>
      <form class="actions" aria-label="create an account" onSubmit={(e) => void create(e)}>
        <label>
          Name <input name="account-name" required maxLength={255} />
        </label>
        <label>
          Role
          <select name="account-role">
            <option value="user">user</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit">Create account</button>
      </form>
      <ErrorLine error={error ?? accounts.error} />
      {!accounts.data ? (
        <Placeholder rows={4} />
      ) : (
        <table class="accounts">
          <thead>
            <tr>
              <th>Name</th>
              <th>Role</th>
              <th>ID</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {accounts.data.items.map((a) => (
              <tr key={a.id} data-account-id={a.id}>
                <td>
                  <a href={`#/users?account=${a.id}`}>{a.name}</a>
                </td>
                <td>{a.role}</td>
                <td class="mono">{a.id}</td>
                <td>{when(a.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
