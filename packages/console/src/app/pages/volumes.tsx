import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { Disks } from './disks.js';
import { CreateVolume } from './volume-create.js';

const PAGE = 25;

/**
 * Every volume the session may see, a page at a time, with its QoS editable in place; a new one
 * created here; each name leads to the volume's page (attach, detach, resize, IOPS).
 */
export function VolumeList({ session }: { session: Session }) {
  const [page, setPage] = useState(1);
  const [creating, setCreating] = useState(false);
  return (
    <div class="page">
      <h1>Volumes</h1>
      <button aria-expanded={creating} onClick={() => setCreating(!creating)}>
        Create volume…
      </button>
      {creating && <CreateVolume session={session} onDone={() => undefined} />}
      <Disks session={session} query={{ page, pageSize: PAGE }} pager={{ page, size: PAGE, go: setPage }} />
    </div>
  );
}
