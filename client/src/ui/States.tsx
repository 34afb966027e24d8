/** Loading, empty and error states: every screen shows one of these rather than a blank area. */
import type { ReactNode } from 'react';
import type { CombinedError } from 'urql';
import { problemOf } from '../api/errors';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <p className="state-title">{title}</p>
      {children ? <div className="state-body">{children}</div> : null}
    </div>
  );
}

export function ErrorNotice({ error, message }: { error?: CombinedError | null; message?: string | null }) {
  const text = message ?? problemOf(error).message;
  if (!text) return null;
  return (
    <div className="notice notice-error" role="alert">
      {text}
    </div>
  );
}

export function Notice({
  kind = 'info',
  children,
}: {
  kind?: 'info' | 'warning' | 'success' | 'error';
  children: ReactNode;
}) {
  return (
    <div className={`notice notice-${kind}`} role={kind === 'error' || kind === 'warning' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}
