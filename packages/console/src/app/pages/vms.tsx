import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { useLoad } from '../use-load.js';
import { bytes, when } from '../format.js';
import { Badge, ErrorLine, Placeholder } from '../parts/common.js';
import { DeployVm } from './deploy.js';

const PAGE = 20;

/** The VMs the caller may see (its account's; every account's for an operator), a page at a time. */
export function VmList({ session }: { session: Session }) {
  const [page, setPage] = useState(1);
  const [deploying, setDeploying] = useState(false);
  const vms = useLoad(
    () => session.api.get('/v1/vms', {}, { page, pageSize: PAGE, total: true }),
    [page],
    5000,
  );
  const total = vms.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE));
  return (
    <div class="page">
      <h1>Virtual machines</h1>
      <button aria-expanded={deploying} onClick={() => setDeploying(!deploying)}>
        Deploy a VM
      </button>
      {deploying && <DeployVm session={session} onDone={(id) => (location.hash = `#/vms/${id}`)} />}
      <ErrorLine error={vms.error} />
      {!vms.data ? (
        <Placeholder rows={6} />
      ) : (
        <table class="vms">
          <thead>
            <tr>
              <th>Name</th>
              <th>State</th>
              <th>CPUs</th>
              <th>Memory</th>
              {session.operator && <th>Account</th>}
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {vms.data.items.map((v) => (
              <tr key={v.id} data-vm-id={v.id}>
                <td>
                  <a href={`#/vms/${v.id}`}>{v.name}</a>
                </td>
                <td>
                  <Badge state={v.state} />
                </td>
                <td>{v.cpus}</td>
                <td>{bytes(v.memoryBytes)}</td>
                {session.operator && <td class="mono">{v.accountId}</td>}
                <td>{when(v.createdAt)}</td>
              </tr>
            ))}
            {vms.data.items.length === 0 && (
              <tr>
                <td colSpan={6} class="muted">
                  No VM.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="pages">
        <button disabled={page <= 1} onClick={() => setPage(page - 1)}>
          Previous
        </button>
        <span>
          page {page} of {pages} ({total} VMs)
        </span>
        <button disabled={page >= pages} onClick={() => setPage(page + 1)}>
          Next
        </button>
      </nav>
    </div>
  );
}
