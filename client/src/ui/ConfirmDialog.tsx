/**
 * The question before something that cannot be undone (delete, revoke, disconnect): what will
 * happen to `subject`, a danger button that does it and Cancel. It is open while `subject` is not
 * null. `confirm` does it and resolves with the server's reason when it refused (shown in the
 * dialog, after `refusedAs`, until the dialog is closed) or with null when it is done.
 */
import { useState, type ReactNode } from 'react';
import { Dialog } from './Dialog';
import { ErrorNotice } from './States';

export function ConfirmDialog<T>({
  title,
  subject,
  onClose,
  action,
  busyAction,
  busy,
  refusedAs,
  confirm,
  children,
}: {
  title: string;
  subject: T | null;
  onClose: () => void;
  /** The danger button's label ("Delete"), and its label while `busy` ("Deleting…"). */
  action: string;
  busyAction: string;
  busy: boolean;
  /** Put before a refusal's reason ("Not deleted"); without it the reason stands alone. */
  refusedAs?: string;
  confirm: (subject: T) => Promise<string | null>;
  /** What will happen, said about the subject. */
  children: (subject: T) => ReactNode;
}) {
  const [refusal, setRefusal] = useState<string | null>(null);
  const close = () => (setRefusal(null), onClose());
  return (
    <Dialog title={title} open={subject !== null} onClose={close}>
      {subject !== null ? (
        <>
          {children(subject)}
          {refusal ? <ErrorNotice message={refusedAs ? `${refusedAs}: ${refusal}` : refusal} /> : null}
          <div className="row">
            <button
              type="button"
              className="button-danger"
              disabled={busy}
              onClick={async () => setRefusal(await confirm(subject))}
            >
              {busy ? busyAction : action}
            </button>
            <button type="button" onClick={close}>
              Cancel
            </button>
          </div>
        </>
      ) : null}
    </Dialog>
  );
}
