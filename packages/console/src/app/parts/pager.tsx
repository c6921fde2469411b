/** Previous / next for offset paging, with where the reader is. */
export function Pager({
  page,
  size,
  total,
  onPage,
  noun,
}: {
  page: number;
  size: number;
  total: number | undefined;
  onPage: (p: number) => void;
  noun: string;
}) {
  const pages = Math.max(1, Math.ceil((total ?? 0) / size));
  return (
    <nav class="pager" aria-label="pages">
      <button disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span>
        page {page} of {pages} ({total ?? '…'} {noun})
      </span>
      <button disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
}
