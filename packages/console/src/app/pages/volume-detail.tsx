import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { useLoad } from '../use-load.js';
import { bytes } from '../format.js';
import { Badge, ErrorLine, Placeholder } from '../parts/common.js';
import { IopsGraph } from '../parts/iops-graph.js';
import { VolumeActions } from './volume-actions.js';
import { QosEditor } from './disks.js';

/** One volume: where it lives, what it is attached to, its actions, its QoS (read back), and its IOPS live. */
export function VolumeDetail({ session, id }: { session: Session; id: string }) {
  const v = useLoad(() => session.api.get('/v1/volumes/{id}', { id }), [id], 5000);
  const pool = useLoad(
    async () =>
      v.data ? session.api.get('/v1/storage-pools/{id}', { id: v.data.poolId }).catch(() => null) : null,
    [v.data?.poolId],
  );
  const vol = v.data;
  const [editing, setEditing] = useState(false);
  return (
    <div class="page volume-detail" data-volume-id={id}>
      <p>
        <a href="#/volumes">Volumes</a> /
      </p>
      <h1>{vol?.name ?? 'Volume'}</h1>
      <ErrorLine error={v.error} />
      {!vol ? (
        <Placeholder rows={4} />
      ) : (
        <>
          <table class="facts">
            <tbody>
              <tr>
                <th>State</th>
                <td>
                  <Badge state={vol.state} />
                </td>
              </tr>
              <tr>
                <th>Backend</th>
                <td>{pool.data?.provider ?? 'unknown'}</td>
              </tr>
              <tr>
                <th>Pool</th>
                <td>{pool.data?.name ?? <span class="mono">{vol.poolId}</span>}</td>
              </tr>
              <tr>
                <th>Size</th>
                <td data-testid="volume-size">{bytes(vol.sizeBytes)}</td>
              </tr>
              <tr>
                <th>Attached to</th>
                <td data-testid="volume-vm">
                  {vol.vmId ? (
                    <>
                      <a href={`#/vms/${vol.vmId}`} class="mono">
                        {vol.vmId.slice(0, 8)}
                      </a>{' '}
                      as <span class="mono">{vol.deviceName}</span>
                    </>
                  ) : (
                    'nothing'
                  )}
                </td>
              </tr>
              <tr>
                <th>QoS (min / max / burst IOPS)</th>
                <td>
                  {vol.qos
                    ? `${vol.qos.minIops ?? 0} / ${vol.qos.maxIops ?? 0} / ${vol.qos.burstIops ?? 0} for ${vol.qos.burstSeconds ?? 0} s`
                    : 'none'}
                </td>
              </tr>
            </tbody>
          </table>
          <VolumeActions session={session} volume={vol} onDone={() => v.reload()} />
          <button aria-expanded={editing} onClick={() => setEditing(!editing)}>
            Edit QoS
          </button>
          {editing && <QosEditor session={session} volume={vol} onDone={() => v.reload()} />}
          <IopsGraph session={session} volumeId={id} />
        </>
      )}
    </div>
  );
}
