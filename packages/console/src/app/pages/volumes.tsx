import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { Disks } from './disks.js';

const PAGE = 25;

/** Every volume the session may see, a page at a time, with its QoS editable in place. */
export function VolumeList({ session }: { session: Session }) {
  const [page, setPage] = useState(1);
  return (
    <div class="page">
      <h1>Volumes</h1>
      <Disks session={session} query={{ page, pageSize: PAGE }} pager={{ page, size: PAGE, go: setPage }} />
    </div>
  );
}
