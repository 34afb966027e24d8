/**
 * The Password Manager: every credential (secrets are never returned, only the last characters to
 * recognise one), adding one, rotating one's secret, and deleting one — which the API refuses while a connection or an
 * encrypted policy uses it; the refusal's reason is shown as the API words it.
 */
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { problemOf } from '../../api/errors';
import {
  CredentialsDocument,
  DeleteCredentialDocument,
  RotateCredentialDocument,
  type CredentialFieldsFragment,
} from '../../graphql/generated/graphql';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import { Dialog } from '../../ui/Dialog';
import { Field } from '../../ui/Field';
import { formatDateTime } from '../../ui/format';
import { Empty, ErrorNotice, Loading, Notice } from '../../ui/States';
import { CredentialForm, kindLabel } from './CredentialForm';

export function PasswordManagerPage() {
  const [credentials, refetch] = useQuery({ query: CredentialsDocument });
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState<CredentialFieldsFragment | null>(null);
  const [rotating, setRotating] = useState<CredentialFieldsFragment | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const list = credentials.data?.credentials ?? [];

  return (
    <section aria-labelledby="pm-title">
      <div className="page-header">
        <h1 id="pm-title">Password Manager</h1>
        <span className="spacer" />
        <button type="button" className="button-primary" onClick={() => (setMessage(null), setAdding(true))}>
          Add credential
        </button>
      </div>
      <p className="muted">
        Personal access tokens, OAuth client secrets, passwords and encryption keys, encrypted at rest. A secret is
        never shown again after it is saved.
      </p>
      {message ? <Notice kind="success">{message}</Notice> : null}

      {credentials.fetching && !credentials.data ? <Loading /> : null}
      <ErrorNotice error={credentials.error} />
      {credentials.data && list.length === 0 ? (
        <Empty title="The Password Manager is empty.">
          Add a personal access token here, or connect GitLab with one in Advanced mode.
        </Empty>
      ) : null}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table className="data-table" aria-label="Credentials">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Username</th>
                <th scope="col">Description</th>
                <th scope="col">Secret</th>
                <th scope="col">Expires</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((c) => (
                <tr key={c.id}>
                  <th scope="row">{c.name}</th>
                  <td>{kindLabel(c.kind)}</td>
                  <td>{c.username ?? '—'}</td>
                  <td>{c.description ?? '—'}</td>
                  <td>
                    <code aria-label={`ends with ${c.fingerprint.replace('…', '')}`}>{c.fingerprint}</code>
                  </td>
                  <td>
                    <Expiry iso={c.expiresAt} />
                  </td>
                  <td>{formatDateTime(c.createdAt)}</td>
                  <td className="row">
                    <button
                      type="button"
                      aria-label={`Rotate ${c.name}`}
                      onClick={() => (setMessage(null), setRotating(c))}
                    >
                      Rotate
                    </button>
                    <button
                      type="button"
                      className="button-danger"
                      aria-label={`Delete ${c.name}`}
                      onClick={() => (setMessage(null), setDeleting(c))}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      <Dialog title="Add a credential" open={adding} onClose={() => setAdding(false)}>
        <CredentialForm
          onCancel={() => setAdding(false)}
          onSaved={(saved) => {
            setAdding(false);
            setMessage(`“${saved.name}” was saved to the Password Manager.`);
            refetch({ requestPolicy: 'network-only' });
          }}
        />
      </Dialog>
      <RotateCredentialDialog
        credential={rotating}
        onClose={() => setRotating(null)}
        onRotated={(name) => {
          setRotating(null);
          setMessage(`“${name}” has its new secret.`);
          refetch({ requestPolicy: 'network-only' });
        }}
      />
      <DeleteCredentialDialog
        credential={deleting}
        onClose={() => setDeleting(null)}
        onDeleted={(name) => {
          setDeleting(null);
          setMessage(`“${name}” was deleted.`);
          refetch({ requestPolicy: 'network-only' });
        }}
      />
    </section>
  );
}

function Expiry({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">never</span>;
  const days = Math.ceil((new Date(iso).getTime() - Date.now()) / 86_400_000);
  const text = formatDateTime(iso);
  if (days < 0) return <strong className="text-bad">{text} (expired)</strong>;
  if (days <= 14)
    return (
      <strong className="text-warn">
        {text} (in {days} days)
      </strong>
    );
  return <>{text}</>;
}

/** A new secret for an entry (and, optionally, its new expiry); the old secret is not kept. */
function RotateCredentialDialog({
  credential,
  onClose,
  onRotated,
}: {
  credential: CredentialFieldsFragment | null;
  onClose: () => void;
  onRotated: (name: string) => void;
}) {
  const [result, rotate] = useMutation(RotateCredentialDocument);
  const [secret, setSecret] = useState('');
  const [expiresOn, setExpiresOn] = useState('');
  const problem = problemOf(result.error);
  const close = () => (setSecret(''), setExpiresOn(''), onClose());
  return (
    <Dialog title="Rotate credential" open={credential !== null} onClose={close}>
      {credential ? (
        <form
          noValidate
          onSubmit={async (event) => {
            event.preventDefault();
            const done = await rotate({
              id: credential.id,
              secret,
              // Left empty: the variable is not sent, so the expiry stays as it is.
              expiresAt: expiresOn ? `${expiresOn}T23:59:59.999Z` : undefined,
            });
            if (done.data) {
              setSecret('');
              setExpiresOn('');
              onRotated(credential.name);
            }
          }}
        >
          <p>
            A new secret for <strong>{credential.name}</strong>: connections that use it switch to it at once, and the
            old one is not kept.
          </p>
          <Field label="New secret" error={problem.fields.secret}>
            <input
              type="password"
              value={secret}
              onChange={(e) => setSecret(e.target.value)}
              autoComplete="new-password"
            />
          </Field>
          <Field label="Expires on (optional)" error={problem.fields.expiresAt}>
            <input type="date" value={expiresOn} onChange={(e) => setExpiresOn(e.target.value)} />
          </Field>
          {problem.message && Object.keys(problem.fields).length === 0 ? (
            <ErrorNotice message={problem.message} />
          ) : null}
          <div className="row">
            <button type="submit" className="button-primary" disabled={result.fetching}>
              {result.fetching ? 'Rotating…' : 'Rotate'}
            </button>
            <button type="button" onClick={close}>
              Cancel
            </button>
          </div>
        </form>
      ) : null}
    </Dialog>
  );
}

function DeleteCredentialDialog({
  credential,
  onClose,
  onDeleted,
}: {
  credential: CredentialFieldsFragment | null;
  onClose: () => void;
  onDeleted: (name: string) => void;
}) {
  const [result, remove] = useMutation(DeleteCredentialDocument);
  return (
    <ConfirmDialog
      title="Delete credential?"
      subject={credential}
      onClose={onClose}
      action="Delete"
      busyAction="Deleting…"
      busy={result.fetching}
      refusedAs="Not deleted"
      confirm={async (credential) => {
        const done = await remove({ id: credential.id });
        if (!done.data?.deleteCredential) return problemOf(done.error).message;
        onDeleted(credential.name);
        return null;
      }}
    >
      {(credential) => (
        <p>
          Delete <strong>{credential.name}</strong> from the Password Manager? Labkeeper will no longer be able to use
          this secret.
        </p>
      )}
    </ConfirmDialog>
  );
}
