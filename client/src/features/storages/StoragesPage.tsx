/**
 * Storages: where policies keep snapshots besides a local directory. Each S3-compatible storage
 * with what it holds (snapshots written there, replica copies, bytes), Test (a probe object written,
 * read, listed and deleted: its timings and what the server supports), Edit and Delete, which the
 * server refuses while snapshots or a policy still use it; its reason is shown as it says it.
 */
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { problemOf } from '../../api/errors';
import {
  DeleteStorageDocument,
  StoragesOverviewDocument,
  TestStorageDocument,
  type StorageFieldsFragment,
  type StorageTestFieldsFragment,
} from '../../graphql/generated/graphql';
import { formatBytes, formatDateTime } from '../../ui/format';
import { Empty, ErrorNotice, Loading, Notice } from '../../ui/States';
import { StorageForm } from './StorageForm';

type Editing = { storage: StorageFieldsFragment | null } | null;

export function StoragesPage() {
  const [result, refetch] = useQuery({ query: StoragesOverviewDocument });
  const [editing, setEditing] = useState<Editing>(null);
  const [tests, setTests] = useState<Record<string, StorageTestFieldsFragment>>({});
  const storages = result.data?.storages ?? [];
  const passwords = (result.data?.credentials ?? []).filter((c) => c.kind === 'PASSWORD');

  return (
    <section aria-labelledby="storages-title">
      <div className="page-header">
        <h1 id="storages-title">Storages</h1>
        <button type="button" className="button-primary" onClick={() => setEditing({ storage: null })}>
          Add S3 storage
        </button>
      </div>
      <p className="muted">
        Where snapshots are kept. A policy keeps them in a local directory of the worker (a mounted NFS or SMB path
        works the same; set it in the policy’s Storage section) or in one of the S3-compatible storages below, and can
        copy each snapshot to more of them (replicas, for a 3-2-1 setup).
      </p>
      {editing ? (
        <StorageForm
          key={editing.storage?.id ?? 'new'}
          storage={editing.storage}
          passwords={passwords}
          onCancel={() => setEditing(null)}
          onSaved={(storage, test) => {
            setEditing(null);
            setTests((all) => ({ ...all, [storage.id]: test }));
            refetch({ requestPolicy: 'network-only' });
          }}
        />
      ) : null}
      {result.fetching && !result.data ? <Loading label="Loading storages…" /> : null}
      <ErrorNotice error={result.error} />
      {result.data && storages.length === 0 ? (
        <Empty title="No S3 storage yet.">
          Add one to keep snapshots off this machine, or to let workers on several hosts share them.
        </Empty>
      ) : null}
      <ul className="storage-list" aria-label="Storages">
        {storages.map((storage) => (
          <StorageCard
            key={storage.id}
            storage={storage}
            test={tests[storage.id] ?? null}
            onTested={(test) => setTests((all) => ({ ...all, [storage.id]: test }))}
            onEdit={() => setEditing({ storage })}
            onDeleted={() => refetch({ requestPolicy: 'network-only' })}
          />
        ))}
      </ul>
    </section>
  );
}

function StorageCard({
  storage,
  test,
  onTested,
  onEdit,
  onDeleted,
}: {
  storage: StorageFieldsFragment;
  test: StorageTestFieldsFragment | null;
  onTested: (test: StorageTestFieldsFragment) => void;
  onEdit: () => void;
  onDeleted: () => void;
}) {
  const [testing, runTest] = useMutation(TestStorageDocument);
  const [deleting, remove] = useMutation(DeleteStorageDocument);
  const [confirming, setConfirming] = useState(false);
  const testProblem = problemOf(testing.error);
  const deleteProblem = problemOf(deleting.error);
  const headingId = `storage-${storage.id}`;
  const { usage } = storage;

  return (
    <li aria-labelledby={headingId}>
      <article className="card storage-card">
        <div className="row">
          <h2 id={headingId} className="card-title">
            {storage.name}
          </h2>
          <span className="muted">{storage.endpoint ?? 'AWS S3'}</span>
          <span className="spacer" />
          {storage.objectLockMode ? (
            <span className="badge">
              Object Lock {storage.objectLockMode.toLowerCase()}, {storage.objectLockDays} days
            </span>
          ) : null}
        </div>
        <dl className="snapshot-facts">
          <div>
            <dt>Bucket</dt>
            <dd>
              {storage.bucket}
              {storage.prefix ? `/${storage.prefix}` : ''}
            </dd>
          </div>
          <div>
            <dt>Region</dt>
            <dd>{storage.region}</dd>
          </div>
          <div>
            <dt>Access key id</dt>
            <dd>{storage.accessKeyId}</dd>
          </div>
          <div>
            <dt>Snapshots</dt>
            <dd>{usage.primarySnapshots}</dd>
          </div>
          <div>
            <dt>Replica copies</dt>
            <dd>{usage.replicaCopies}</dd>
          </div>
          <div>
            <dt>Used</dt>
            <dd>{formatBytes(usage.bytes)}</dd>
          </div>
        </dl>
        <p className="muted">Changed {formatDateTime(storage.updatedAt)}</p>
        <div aria-live="polite">
          {test ? <TestResult test={test} /> : null}
          {testing.error ? (
            <Notice kind="error">
              Test failed: {Object.values(testProblem.fields).join(' ') || testProblem.message}
            </Notice>
          ) : null}
          {deleting.error ? <Notice kind="error">Not deleted: {deleteProblem.message}</Notice> : null}
        </div>
        <div className="row snapshot-actions">
          <button
            type="button"
            disabled={testing.fetching}
            onClick={async () => {
              const done = await runTest({ id: storage.id });
              if (done.data) onTested(done.data.testStorage);
            }}
          >
            {testing.fetching ? 'Testing…' : 'Test'}
          </button>
          <button type="button" onClick={onEdit}>
            Edit
          </button>
          {confirming ? (
            <>
              <span>Delete {storage.name}? Its bucket and objects stay as they are.</span>
              <button
                type="button"
                className="button-danger"
                disabled={deleting.fetching}
                onClick={async () => {
                  const done = await remove({ id: storage.id });
                  setConfirming(false);
                  if (done.data) onDeleted();
                }}
              >
                Yes, delete
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                Keep it
              </button>
            </>
          ) : (
            <button type="button" onClick={() => setConfirming(true)}>
              Delete
            </button>
          )}
        </div>
      </article>
    </li>
  );
}

function TestResult({ test }: { test: StorageTestFieldsFragment }) {
  return (
    <Notice kind="success">
      <strong>Test OK</strong> (<code>{test.location}</code>): write {test.writeMs} ms, read {test.readMs} ms, list{' '}
      {test.listMs} ms, delete {test.deleteMs} ms.{' '}
      {test.conditionalWrites
        ? 'The server supports conditional writes (write-once without races).'
        : 'The server ignores conditional writes: Labkeeper checks that a key is new before writing it (enough, as it never races on a key).'}{' '}
      {test.objectLock ? 'The bucket has Object Lock enabled.' : 'The bucket has no Object Lock.'}
    </Notice>
  );
}
