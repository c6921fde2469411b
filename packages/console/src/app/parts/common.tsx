import type { ComponentChildren } from 'preact';
import { ApiError } from '../api/client.js';
import { hintFor } from '../hints.js';

/** A coded error as the API gave it: its code first (docs/errors.md has each one's recovery). */
export function ErrorLine({ error }: { error: Error | undefined }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : 'ERROR';
  const hint = hintFor(code);
  return (
    <p class="error" role="alert">
      <code>{code}</code> {error.message}
      {hint && <span class="hint"> {hint}</span>}
    </p>
  );
}

export function Badge({ state }: { state: string }) {
  return <span class={`badge s-${state.toLowerCase()}`}>{state}</span>;
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** Shown in place of a table until its first answer: same height, so the page does not jump. */
export function Placeholder({ rows = 3 }: { rows?: number }) {
  return <div class="placeholder" style={{ height: `${rows * 2.2}em` }} aria-busy="true" />;
}

export function Meter({ used, of, label }: { used: number; of: number; label: string }) {
  const p = of > 0 ? Math.min(100, Math.round((used / of) * 100)) : 0;
  return (
    <div class="meter" title={label} aria-label={label}>
      <div class="fill" style={{ width: `${p}%` }} />
      <span>{label}</span>
    </div>
  );
}
