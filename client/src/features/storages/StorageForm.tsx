/**
 * Adding or editing an S3-compatible storage: every setting of `StorageSettingsInput`, the secret
 * access key typed (saved to the Password Manager) or picked from it. The server probes the bucket
 * before it saves anything; a refusal names the setting, and its reason is shown beside that input.
 */
import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { problemOf } from '../../api/errors';
import { Link } from '../../app/router';
import {
  CreateStorageDocument,
  UpdateStorageDocument,
  type StorageFieldsFragment,
  type StorageSettingsInput,
  type StorageTestFieldsFragment,
} from '../../graphql/generated/graphql';
import { Checkbox, Field } from '../../ui/Field';
import { ErrorNotice } from '../../ui/States';

/** Fields shown beside an input below. */
const SHOWN = [
  'name',
  'endpoint',
  'region',
  'bucket',
  'prefix',
  'accessKeyId',
  'secretAccessKey',
  'secretCredentialId',
  'serverSideEncryption',
  'kmsKeyId',
  'storageClass',
  'objectLockMode',
  'objectLockDays',
];

export interface PasswordCredential {
  id: string;
  name: string;
  username?: string | null;
}

interface Draft {
  name: string;
  endpoint: string;
  region: string;
  bucket: string;
  prefix: string;
  forcePathStyle: boolean;
  accessKeyId: string;
  secretSource: 'TYPED' | 'PASSWORD_MANAGER' | 'KEEP';
  secretAccessKey: string;
  secretCredentialId: string;
  serverSideEncryption: string;
  kmsKeyId: string;
  storageClass: string;
  conditionalWrites: boolean;
  objectLockMode: string;
  objectLockDays: string;
}

function draftOf(storage: StorageFieldsFragment | null): Draft {
  return {
    name: storage?.name ?? '',
    endpoint: storage?.endpoint ?? '',
    region: storage?.region ?? 'us-east-1',
    bucket: storage?.bucket ?? '',
    prefix: storage?.prefix ?? '',
    forcePathStyle: storage?.forcePathStyle ?? true,
    accessKeyId: storage?.accessKeyId ?? '',
    secretSource: storage ? 'KEEP' : 'TYPED',
    secretAccessKey: '',
    secretCredentialId: '',
    serverSideEncryption: storage?.serverSideEncryption ?? '',
    kmsKeyId: storage?.kmsKeyId ?? '',
    storageClass: storage?.storageClass ?? '',
    conditionalWrites: storage?.conditionalWrites ?? true,
    objectLockMode: storage?.objectLockMode ?? '',
    objectLockDays: storage?.objectLockDays ? String(storage.objectLockDays) : '',
  };
}

function inputOf(d: Draft): StorageSettingsInput {
  const orNull = (value: string) => value.trim() || null;
  return {
    name: d.name.trim(),
    endpoint: orNull(d.endpoint),
    region: d.region.trim(),
    bucket: d.bucket.trim(),
    prefix: d.prefix.trim(),
    forcePathStyle: d.forcePathStyle,
    accessKeyId: d.accessKeyId.trim(),
    secretAccessKey: d.secretSource === 'TYPED' ? d.secretAccessKey : null,
    secretCredentialId: d.secretSource === 'PASSWORD_MANAGER' ? orNull(d.secretCredentialId) : null,
    serverSideEncryption: orNull(d.serverSideEncryption),
    kmsKeyId: orNull(d.kmsKeyId),
    storageClass: orNull(d.storageClass),
    conditionalWrites: d.conditionalWrites,
    objectLockMode: orNull(d.objectLockMode),
    objectLockDays: d.objectLockMode && d.objectLockDays ? Number(d.objectLockDays) : null,
  };
}

export function StorageForm({
  storage,
  passwords,
  onSaved,
  onCancel,
}: {
  /** The storage to edit; null to add one. */
  storage: StorageFieldsFragment | null;
  passwords: PasswordCredential[];
  onSaved: (storage: StorageFieldsFragment, test: StorageTestFieldsFragment) => void;
  onCancel: () => void;
}) {
  const [draft, setDraft] = useState<Draft>(() => draftOf(storage));
  const [created, create] = useMutation(CreateStorageDocument);
  const [updated, update] = useMutation(UpdateStorageDocument);
  const result = storage ? updated : created;
  const problem = problemOf(result.error);
  const fields = problem.fields;
  // Problems no input shows (none expected; never hidden if the API names another field).
  const leftover = Object.entries(fields).filter(([path]) => !SHOWN.includes(path));
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const text = (key: keyof Draft) => ({
    type: 'text',
    value: draft[key] as string,
    onChange: (e: { target: { value: string } }) => set(key, e.target.value),
  });

  async function submit(event: FormEvent) {
    event.preventDefault();
    const input = inputOf(draft);
    const done = storage ? await update({ id: storage.id, input }) : await create({ input });
    const payload = done.data && ('createStorage' in done.data ? done.data.createStorage : done.data.updateStorage);
    if (payload) onSaved(payload.storage, payload.test);
  }

  const title = storage ? `Edit storage ${storage.name}` : 'Add an S3 storage';
  return (
    <form className="card storage-form" aria-label={title} onSubmit={submit} noValidate>
      <h2 className="card-title">{title}</h2>
      <p className="muted">
        Any S3-compatible server: AWS S3, MinIO, Ceph, Wasabi, Backblaze B2. Labkeeper writes, reads, lists and deletes
        a probe object before it saves the settings.
      </p>
      {problem.message ? (
        <ErrorNotice
          message={[problem.message, ...leftover.map(([path, message]) => `${path}: ${message}`)].join(' ')}
        />
      ) : null}
      <div className="form-sections">
        <fieldset>
          <legend>Bucket</legend>
          <Field label="Name" hint="How policies and snapshot cards name it, e.g. “offsite”." error={fields.name}>
            <input {...text('name')} autoComplete="off" />
          </Field>
          <Field
            label="Endpoint"
            hint="The http(s) URL of the S3 API, e.g. http://minio:9000. Empty for AWS S3."
            error={fields.endpoint}
          >
            <input {...text('endpoint')} type="url" placeholder="https://s3.example.com" autoComplete="off" />
          </Field>
          <Field label="Region" error={fields.region}>
            <input {...text('region')} autoComplete="off" />
          </Field>
          <Field label="Bucket" error={fields.bucket}>
            <input {...text('bucket')} autoComplete="off" />
          </Field>
          <Field label="Prefix (optional)" hint="A folder inside the bucket, e.g. labkeeper." error={fields.prefix}>
            <input {...text('prefix')} autoComplete="off" />
          </Field>
          <Checkbox
            label="Path-style addressing"
            hint="On for MinIO and Ceph (bucket in the path rather than in the host name)."
            checked={draft.forcePathStyle}
            onChange={(value) => set('forcePathStyle', value)}
          />
        </fieldset>
        <fieldset>
          <legend>Credentials</legend>
          <Field label="Access key id" error={fields.accessKeyId}>
            <input {...text('accessKeyId')} autoComplete="off" />
          </Field>
          <Field label="Secret access key from">
            <select
              value={draft.secretSource}
              onChange={(e) => set('secretSource', e.target.value as Draft['secretSource'])}
            >
              {storage ? <option value="KEEP">Keep the saved secret key</option> : null}
              <option value="TYPED">Type it here (saved to the Password Manager)</option>
              <option value="PASSWORD_MANAGER">The Password Manager</option>
            </select>
          </Field>
          {draft.secretSource === 'TYPED' ? (
            <Field
              label="Secret access key"
              hint="Stored encrypted in the Password Manager; never shown again."
              error={fields.secretAccessKey}
            >
              <input
                type="password"
                value={draft.secretAccessKey}
                onChange={(e) => set('secretAccessKey', e.target.value)}
                autoComplete="new-password"
              />
            </Field>
          ) : null}
          {draft.secretSource === 'PASSWORD_MANAGER' ? (
            <Field
              label="Password credential"
              hint={
                <>
                  A credential of kind Password in the <Link to="/password-manager">Password Manager</Link>.
                </>
              }
              error={fields.secretCredentialId ?? fields.secretAccessKey}
            >
              <select value={draft.secretCredentialId} onChange={(e) => set('secretCredentialId', e.target.value)}>
                <option value="">Choose a credential…</option>
                {passwords.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                    {c.username ? ` (${c.username})` : ''}
                  </option>
                ))}
              </select>
            </Field>
          ) : null}
          {draft.secretSource === 'KEEP' ? (
            <p className="field-hint">
              The secret key saved with this storage stays in use.
              {fields.secretAccessKey ? <span className="field-error"> {fields.secretAccessKey}</span> : null}
            </p>
          ) : null}
        </fieldset>
        <fieldset>
          <legend>Encryption, class and immutability</legend>
          <Field label="Server-side encryption" error={fields.serverSideEncryption}>
            <select value={draft.serverSideEncryption} onChange={(e) => set('serverSideEncryption', e.target.value)}>
              <option value="">The bucket’s default</option>
              <option value="AES256">AES256 (keys managed by the server)</option>
              <option value="aws:kms">aws:kms (a KMS key)</option>
            </select>
          </Field>
          {draft.serverSideEncryption === 'aws:kms' ? (
            <Field label="KMS key id (optional)" error={fields.kmsKeyId}>
              <input {...text('kmsKeyId')} autoComplete="off" />
            </Field>
          ) : null}
          <Field
            label="Storage class (optional)"
            hint="STANDARD, STANDARD_IA…; empty for the bucket’s default."
            error={fields.storageClass}
          >
            <input {...text('storageClass')} autoComplete="off" />
          </Field>
          <Checkbox
            label="Conditional writes (If-None-Match: *)"
            hint="Race-free write-once where the server supports it; Test tells you whether it does."
            checked={draft.conditionalWrites}
            onChange={(value) => set('conditionalWrites', value)}
          />
          <Field
            label="Object Lock"
            hint="Each object is locked for some days after it is written; the bucket must have Object Lock enabled."
            error={fields.objectLockMode}
          >
            <select value={draft.objectLockMode} onChange={(e) => set('objectLockMode', e.target.value)}>
              <option value="">No lock</option>
              <option value="GOVERNANCE">Governance (users with a special permission can still delete)</option>
              <option value="COMPLIANCE">Compliance (nobody can delete before the date)</option>
            </select>
          </Field>
          {draft.objectLockMode ? (
            <Field label="Lock days" error={fields.objectLockDays}>
              <input
                type="number"
                min={1}
                max={36500}
                value={draft.objectLockDays}
                onChange={(e) => set('objectLockDays', e.target.value)}
              />
            </Field>
          ) : null}
        </fieldset>
      </div>
      <div className="row form-actions">
        <button type="submit" className="button-primary" disabled={result.fetching}>
          {result.fetching ? 'Checking the bucket…' : storage ? 'Test and save' : 'Test and add'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
