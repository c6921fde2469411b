import type { Api } from '../api/client.js';
import { useLoad } from '../use-load.js';
import { bytes } from '../format.js';

/**
 * A snapshot's size, asked of the backends once per node (GET /v1/vm-snapshots/{id}/size): the
 * figure, or "unknown" with the backend's note saying why. Same width while it loads.
 */
export function SnapshotSize({ api, id, ready }: { api: Api; id: string; ready: boolean }) {
  const size = useLoad(
    () => (ready ? api.get('/v1/vm-snapshots/{id}/size', { id }) : Promise.resolve(null)),
    [id, ready],
  );
  if (!ready) return <span class="muted">–</span>;
  if (size.error)
    return (
      <span class="muted" title={size.error.message}>
        unknown ({size.error.message})
      </span>
    );
  const s = size.data;
  if (!s)
    return (
      <span class="muted" aria-busy="true">
        …
      </span>
    );
  if (s.size === null)
    return (
      <span data-size="unknown" title={s.sizeNote}>
        unknown{' '}
        <span class="muted">
          ({s.parts.map((p) => (p.size === null ? p.sizeNote : bytes(p.size))).join('; ') || s.sizeNote})
        </span>
      </span>
    );
  return (
    <span data-size={s.size} title={s.sizeNote}>
      {bytes(s.size)}
    </span>
  );
}
