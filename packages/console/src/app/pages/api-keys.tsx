import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import type { Answer } from '../api/client.js';
import { useLoad } from '../use-load.js';
import { when } from '../format.js';
import { ErrorLine, Placeholder } from '../parts/common.js';
import { Confirm, Dialog } from '../parts/dialog.js';

type Issued = Answer<'/v1/api-keys', 'post'>;

/** API keys (operators): issue one (its secret shown once, never listed), revoke one. */
export function ApiKeys({ session, userId }: { session: Session; userId: string }) {
  const { api } = session;
  const keys = useLoad(
    () => api.get('/v1/api-keys', {}, { limit: 200, ...(userId && { userId }) }),
    [userId],
  );
  const [issued, setIssued] = useState<Issued | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [error, setError] = useState<Error | undefined>(undefined);
  const act = async (f: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await f();
      keys.reload();
    } catch (e) {
      setError(e as Error);
    }
  };
  return (
    <div class="page">
      <h1>API keys</h1>
      <p class="muted">{userId ? `Keys of user ${userId}.` : "Every key; a user's from the Users page."}</p>
      <button
        onClick={() =>
          void act(async () => setIssued(await api.post('/v1/api-keys', {}, userId ? { userId } : {})))
        }
      >
        {userId ? 'Issue a key for this user' : 'Issue a key for me'}
      </button>
      <ErrorLine error={error ?? keys.error} />
      {!keys.data ? (
        <Placeholder rows={4} />
      ) : (
        <table class="keys">
          <thead>
            <tr>
              <th>API key</th>
              <th>User</th>
              <th>Created</th>
              <th>Revoked</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.data.items.map((k) => (
              <tr key={k.apiKey} data-api-key={k.apiKey}>
                <td class="mono">{k.apiKey}</td>
                <td class="mono">{k.userId.slice(0, 8)}</td>
                <td>{when(k.createdAt)}</td>
                <td>{when(k.revokedAt)}</td>
                <td>
                  <button
                    class="danger"
                    disabled={k.revokedAt !== null}
                    title={k.revokedAt ? 'already revoked' : 'Revoke this key'}
                    onClick={() => setRevoking(k.apiKey)}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {issued && (
        <Dialog title="New API key" onClose={() => setIssued(null)}>
          <p>Copy the secret now: the API shows it only this once.</p>
          <dl class="facts">
            <dt>API key</dt>
            <dd class="mono" data-testid="new-api-key">
              {issued.apiKey}
            </dd>
            <dt>Secret key</dt>
            <dd class="mono secret" data-testid="new-secret-key">
              {issued.secretKey}
            </dd>
          </dl>
          <button onClick={() => setIssued(null)}>Done</button>
        </Dialog>
      )}
      {revoking && (
        <Confirm
          title="Revoke this key?"
          label="Confirm revoke"
          danger
          onClose={() => setRevoking(null)}
          onConfirm={() => void act(() => api.delete('/v1/api-keys/{apiKey}', { apiKey: revoking }))}
        >
          <p>
            <code>{revoking}</code> stops working at once.
          </p>
        </Confirm>
      )}
    </div>
  );
}
