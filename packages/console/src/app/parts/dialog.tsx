import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

const FOCUSABLE = 'button:not([disabled]), a[href], input:not([disabled]), select:not([disabled])';

/** Tab from the last control goes to the first, Shift+Tab from the first to the last. */
function cycle(e: KeyboardEvent, d: HTMLDialogElement): void {
  if (e.key !== 'Tab') return;
  const all = [...d.querySelectorAll<HTMLElement>(FOCUSABLE)];
  const first = all[0];
  const last = all[all.length - 1];
  if (!first || !last) return;
  const at = document.activeElement;
  if (e.shiftKey ? at === first || !d.contains(at) : at === last || !d.contains(at)) {
    e.preventDefault();
    (e.shiftKey ? last : first).focus();
  }
}

/**
 * A modal dialog: the browser's own <dialog> opened with showModal(), so the page behind is inert,
 * Escape closes it, Tab cycles within it (it would leave for the browser's own controls), and
 * focus returns to the button that opened it.
 */
export function Dialog({
  title,
  onClose,
  children,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    const opener = document.activeElement as HTMLElement | null;
    if (d && !d.open) d.showModal();
    return () => opener?.focus();
  }, []);
  return (
    <dialog
      ref={ref}
      aria-label={title}
      onKeyDown={(e) => ref.current && cycle(e, ref.current)}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2>{title}</h2>
      {children}
    </dialog>
  );
}

/** Asks before an action runs: Confirm does it, Cancel or Escape does not. */
export function Confirm({
  title,
  label,
  danger = false,
  onConfirm,
  onClose,
  children,
}: {
  title: string;
  label: string;
  danger?: boolean;
  onConfirm: () => void;
  onClose: () => void;
  children: ComponentChildren;
}) {
  return (
    <Dialog title={title} onClose={onClose}>
      {children}
      <div class="actions">
        <button
          class={danger ? 'danger' : ''}
          onClick={() => {
            onClose();
            onConfirm();
          }}
        >
          {label}
        </button>
        <button onClick={onClose}>Cancel</button>
      </div>
    </Dialog>
  );
}
