/**
 * Adding a Password Manager entry: kind, name, secret, username, description and expiry, with the
 * API's field errors beside the inputs. Used on the Password Manager screen and inline from
 * Advanced mode (where the kind is fixed to what the connection needs).
 */
import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { problemOf } from '../../api/errors';
import {
  CreateCredentialDocument,
  type CredentialFieldsFragment,
  type CredentialKind,
} from '../../graphql/generated/graphql';
import { Field } from '../../ui/Field';
import { ErrorNotice } from '../../ui/States';

export const CREDENTIAL_KINDS: { value: CredentialKind; label: string }[] = [
  { value: 'PERSONAL_ACCESS_TOKEN', label: 'Personal access token' },
  { value: 'OAUTH_CLIENT_SECRET', label: 'OAuth client secret' },
  { value: 'PASSWORD', label: 'Password' },
  { value: 'ENCRYPTION_KEY', label: 'Encryption key' },
];

export function kindLabel(kind: string): string {
  return CREDENTIAL_KINDS.find((k) => k.value === kind)?.label ?? kind;
}

export function CredentialForm({
  fixedKind,
  initialUsername = '',
  submitLabel = 'Save to Password Manager',
  onSaved,
  onCancel,
}: {
  fixedKind?: CredentialKind;
  initialUsername?: string;
  submitLabel?: string;
  onSaved: (credential: CredentialFieldsFragment) => void;
  onCancel?: () => void;
}) {
  const [kind, setKind] = useState<CredentialKind>(fixedKind ?? 'PERSONAL_ACCESS_TOKEN');
  const [name, setName] = useState('');
  const [secret, setSecret] = useState('');
  const [username, setUsername] = useState(initialUsername);
  const [description, setDescription] = useState('');
  const [expiresOn, setExpiresOn] = useState('');
  const [result, create] = useMutation(CreateCredentialDocument);
  const problem = problemOf(result.error);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const done = await create({
      input: {
        kind,
        name: name.trim(),
        secret,
        username: username.trim() || null,
        description: description.trim() || null,
        // A date input: the credential stops being valid at the end of that day (UTC), like GitLab's tokens.
        expiresAt: expiresOn ? `${expiresOn}T23:59:59.999Z` : null,
      },
    });
    if (done.data?.createCredential) {
      setName('');
      setSecret('');
      setDescription('');
      setExpiresOn('');
      onSaved(done.data.createCredential);
    }
  }

  return (
    <form onSubmit={submit} aria-label="Add a credential" noValidate>
      {problem.message ? <ErrorNotice message={problem.message} /> : null}
      {fixedKind ? null : (
        <Field label="Kind" error={problem.fields.kind}>
          <select value={kind} onChange={(e) => setKind(e.target.value as CredentialKind)}>
            {CREDENTIAL_KINDS.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        </Field>
      )}
      <Field
        label="Name"
        error={problem.fields.name}
        hint="How you will recognise it, e.g. “alice on gitlab.example.com”."
      >
        <input type="text" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" required />
      </Field>
      <Field label="Secret" error={problem.fields.secret} hint="Stored encrypted; Labkeeper never shows it again.">
        <input
          type="password"
          value={secret}
          onChange={(e) => setSecret(e.target.value)}
          autoComplete="new-password"
          required
        />
      </Field>
      <Field
        label="Username (optional)"
        error={problem.fields.username}
        hint="The GitLab username or e-mail that goes with the secret."
      >
        <input type="text" value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="off" />
      </Field>
      <Field label="Description (optional)" error={problem.fields.description}>
        <input type="text" value={description} onChange={(e) => setDescription(e.target.value)} />
      </Field>
      <Field label="Expires on (optional)" error={problem.fields.expiresAt}>
        <input type="date" value={expiresOn} onChange={(e) => setExpiresOn(e.target.value)} />
      </Field>
      <div className="row">
        <button type="submit" className="button-primary" disabled={result.fetching}>
          {result.fetching ? 'Saving…' : submitLabel}
        </button>
        {onCancel ? (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
      </div>
    </form>
  );
}
