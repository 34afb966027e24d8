/**
 * API tokens (ADMIN only, as the API says): every token with its role, expiry and last use;
 * creating one, whose secret is shown once (the server keeps only a hash, so it is gone after a
 * reload); and revoking one after a confirmation. Anyone else gets a plain refusal.
 */
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { problemOf } from '../../api/errors';
import { useSession } from '../../app/session';
import {
  ApiTokensDocument,
  CreateApiTokenDocument,
  RevokeApiTokenDocument,
  type ApiRole,
  type ApiTokenFieldsFragment,
} from '../../graphql/generated/graphql';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import { Dialog } from '../../ui/Dialog';
import { Field } from '../../ui/Field';
import { formatDateTime, formatRelative } from '../../ui/format';
import { Empty, ErrorNotice, Loading, Notice } from '../../ui/States';

export const ROLES: { value: ApiRole; label: string; hint: string }[] = [
  { value: 'VIEWER', label: 'Viewer', hint: 'reads everything, changes nothing' },
  { value: 'BACKUP_OPERATOR', label: 'Backup operator', hint: 'also runs backups and changes policies' },
  { value: 'RESTORE_OPERATOR', label: 'Restore operator', hint: 'also restores snapshots and runs restore drills' },
  { value: 'ADMIN', label: 'Administrator', hint: 'everything, including tokens and the audit log' },
];

export const roleLabel = (role: string) => ROLES.find((r) => r.value === role)?.label ?? role;

/** Shown instead of an admin-only screen when the API refuses the signed-in token. */
export function AdminOnly({ what }: { what: string }) {
  return (
    <Empty title={`Only administrators can see ${what}.`}>
      You are signed in with a token that is not an administrator’s. Sign in with an administrator’s token to see them.
    </Empty>
  );
}

export function ApiTokensPage() {
  const [tokens, refetch] = useQuery({ query: ApiTokensDocument });
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [revoking, setRevoking] = useState<ApiTokenFieldsFragment | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const { token: signedInWith } = useSession();
  const forbidden = problemOf(tokens.error).code === 'FORBIDDEN';
  const list = tokens.data?.apiTokens ?? [];
  const isCurrent = (t: ApiTokenFieldsFragment) => !!signedInWith?.startsWith(t.prefix);

  return (
    <section aria-labelledby="tokens-title">
      <div className="page-header">
        <h1 id="tokens-title">API tokens</h1>
        <span className="spacer" />
        {!forbidden ? (
          <button
            type="button"
            className="button-primary"
            onClick={() => (setMessage(null), setCreated(null), setCreating(true))}
          >
            Create token
          </button>
        ) : null}
      </div>
      <p className="muted">
        Tokens let people sign in to this web client and let scripts use the API. Each has a role that limits what it
        can do.
      </p>
      {message ? <Notice kind="success">{message}</Notice> : null}
      {created ? <NewToken {...created} onDone={() => setCreated(null)} /> : null}

      {tokens.fetching && !tokens.data ? <Loading /> : null}
      {forbidden ? <AdminOnly what="API tokens" /> : <ErrorNotice error={tokens.error} />}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table className="data-table" aria-label="API tokens">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Starts with</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((t) => (
                <tr key={t.id}>
                  <th scope="row">
                    {t.name}
                    {isCurrent(t) ? <span className="muted"> (you are signed in with it)</span> : null}
                  </th>
                  <td>{roleLabel(t.role)}</td>
                  <td>
                    <code>{t.prefix}…</code>
                  </td>
                  <td>
                    <Expiry iso={t.expiresAt} />
                  </td>
                  <td>
                    {t.lastUsedAt ? (
                      <time dateTime={t.lastUsedAt} title={formatDateTime(t.lastUsedAt)}>
                        {formatRelative(t.lastUsedAt)}
                      </time>
                    ) : (
                      <span className="muted">never</span>
                    )}
                  </td>
                  <td>{formatDateTime(t.createdAt)}</td>
                  <td>
                    {t.revokedAt ? (
                      <strong className="text-bad">Revoked {formatDateTime(t.revokedAt)}</strong>
                    ) : (
                      <button
                        type="button"
                        className="button-danger"
                        aria-label={`Revoke ${t.name}`}
                        onClick={() => (setMessage(null), setRevoking(t))}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      <Dialog title="Create an API token" open={creating} onClose={() => setCreating(false)}>
        <CreateTokenForm
          onCancel={() => setCreating(false)}
          onCreated={(name, token) => {
            setCreating(false);
            setCreated({ name, token });
            refetch({ requestPolicy: 'network-only' });
          }}
        />
      </Dialog>
      <RevokeDialog
        token={revoking}
        isCurrent={revoking ? isCurrent(revoking) : false}
        onClose={() => setRevoking(null)}
        onRevoked={(name) => {
          setRevoking(null);
          setMessage(`“${name}” was revoked: it no longer works.`);
          refetch({ requestPolicy: 'network-only' });
        }}
      />
    </section>
  );
}

function Expiry({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">never</span>;
  const text = formatDateTime(iso);
  if (new Date(iso).getTime() <= Date.now()) return <strong className="text-bad">{text} (expired)</strong>;
  return <>{text}</>;
}

/** The new token, shown once: after this, nobody (not even Labkeeper) can show it again. */
function NewToken({ name, token, onDone }: { name: string; token: string; onDone: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  return (
    <section className="card card-attention" aria-labelledby="new-token-title">
      <h2 id="new-token-title">Your new token “{name}”</h2>
      <p>
        <strong>Copy it now: you will not see it again.</strong> Labkeeper keeps only a fingerprint of it, so it cannot
        be shown later. If you lose it, revoke it and create another.
      </p>
      <div className="row token-row">
        <code className="token-secret" aria-label="New API token">
          {token}
        </code>
        <button
          type="button"
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(token);
              setCopied('yes');
            } catch {
              setCopied('failed');
            }
          }}
        >
          Copy token
        </button>
        <button type="button" className="button-quiet" onClick={onDone}>
          I have copied it
        </button>
      </div>
      {copied === 'yes' ? <p role="status">Copied to the clipboard.</p> : null}
      {copied === 'failed' ? (
        <p role="status">The browser did not allow copying: select the token and copy it by hand.</p>
      ) : null}
    </section>
  );
}

function CreateTokenForm({
  onCreated,
  onCancel,
}: {
  onCreated: (name: string, token: string) => void;
  onCancel: () => void;
}) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<ApiRole>('VIEWER');
  const [expiresOn, setExpiresOn] = useState('');
  const [result, create] = useMutation(CreateApiTokenDocument);
  const problem = problemOf(result.error);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const done = await create({
      // A date input: the token stops working at the end of that day (UTC).
      input: { name: name.trim(), role, expiresAt: expiresOn ? `${expiresOn}T23:59:59.999Z` : null },
    });
    const created = done.data?.createApiToken;
    if (created) onCreated(created.apiToken.name, created.token);
  }

  return (
    <form onSubmit={submit} noValidate>
      <ErrorNotice message={problem.message} />
      <Field label="Name" hint="Who or what uses it, e.g. “nightly report script”." error={problem.fields.name}>
        <input value={name} onChange={(e) => setName(e.target.value)} required autoComplete="off" />
      </Field>
      <Field label="Role" hint={ROLES.find((r) => r.value === role)?.hint} error={problem.fields.role}>
        <select value={role} onChange={(e) => setRole(e.target.value as ApiRole)}>
          {ROLES.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Expires on" hint="Leave empty for a token that does not expire." error={problem.fields.expiresAt}>
        <input type="date" value={expiresOn} onChange={(e) => setExpiresOn(e.target.value)} />
      </Field>
      <div className="row">
        <button type="submit" className="button-primary" disabled={result.fetching}>
          {result.fetching ? 'Creating…' : 'Create token'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function RevokeDialog({
  token,
  isCurrent,
  onClose,
  onRevoked,
}: {
  token: ApiTokenFieldsFragment | null;
  isCurrent: boolean;
  onClose: () => void;
  onRevoked: (name: string) => void;
}) {
  const [result, revoke] = useMutation(RevokeApiTokenDocument);
  return (
    <ConfirmDialog
      title="Revoke token?"
      subject={token}
      onClose={onClose}
      action="Revoke token"
      busyAction="Revoking…"
      busy={result.fetching}
      refusedAs="Not revoked"
      confirm={async (token) => {
        const done = await revoke({ id: token.id });
        if (!done.data?.revokeApiToken) return problemOf(done.error).message;
        onRevoked(token.name);
        return null;
      }}
    >
      {(token) => (
        <>
          <p>
            Revoke <strong>{token.name}</strong>? Anything that uses it is refused from now on. This cannot be undone.
          </p>
          {isCurrent ? (
            <Notice kind="warning">You are signed in with this token: you will be signed out.</Notice>
          ) : null}
        </>
      )}
    </ConfirmDialog>
  );
}
