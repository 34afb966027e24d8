/**
 * Alerts: the notification channels (e-mail, webhook, Slack, heartbeat), each for every
 * organization or one, with its rules; adding and changing one, sending a test alert (its result
 * shown in words beside the channel), each channel's recent deliveries (the delivery log), and
 * deleting one after a confirmation. Reading needs any
 * token; changing needs an administrator's (the API refuses others, and that refusal is shown).
 */
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { problemOf } from '../../api/errors';
import {
  AlertChannelsDocument,
  DeleteNotificationChannelDocument,
  TestNotificationChannelDocument,
  type NotificationChannelFieldsFragment,
} from '../../graphql/generated/graphql';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import { Dialog } from '../../ui/Dialog';
import { Empty, ErrorNotice, Loading, Notice } from '../../ui/States';
import { ChannelForm, kindLabel } from './ChannelForm';
import { DeliveryLog } from './DeliveryLog';

type Channel = NotificationChannelFieldsFragment;

/** The rules of a channel in a sentence or two. */
function describeRules(channel: Channel): string {
  if (channel.kind === 'HEARTBEAT') return 'Pinged after every finished run.';
  const r = channel.rules;
  const told = [
    r.runFailed && 'failed backups',
    r.runPartial && 'partly failed backups',
    r.runSucceeded && 'successful backups',
    r.drillFailed && 'failed restore drills',
    r.syncFailed && 'failed repository syncs',
    r.storageErrors && 'storage problems',
    r.anomalies && 'unusual changes',
    r.tokenExpiringWithinDays !== null && `tokens expiring within ${r.tokenExpiringWithinDays} days`,
    r.staleAfterHours !== null && `repositories without a backup for ${r.staleAfterHours} hours`,
  ].filter((x): x is string => !!x);
  const at = `at ${String(r.summaryHour).padStart(2, '0')}:00 ${r.summaryTimeZone}`;
  const summary =
    r.summary === 'DAILY'
      ? ` A summary every day ${at}.`
      : r.summary === 'WEEKLY'
        ? ` A summary every Monday ${at}.`
        : '';
  return `${told.length > 0 ? `Told about ${told.join(', ')}.` : 'Told about nothing.'}${summary}`;
}

function where(channel: Channel): string {
  if (channel.kind === 'EMAIL' && channel.email) return `To ${channel.email.to.join(', ')} via ${channel.email.host}`;
  if (channel.kind === 'WEBHOOK' && channel.url) {
    try {
      return `To ${new URL(channel.url).host}`;
    } catch {
      return 'To a web address';
    }
  }
  return channel.kind === 'SLACK' ? 'To a Slack or Mattermost channel' : 'To a monitoring service';
}

export function AlertsPage() {
  const [result, refetch] = useQuery({ query: AlertChannelsDocument });
  const [editing, setEditing] = useState<Channel | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Channel | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const channels = result.data?.notificationChannels ?? [];
  const organizations = result.data?.organizations ?? [];
  const orgName = (id: string | null | undefined) =>
    id ? (organizations.find((o) => o.id === id)?.fullPath ?? 'one organization') : 'every organization';
  const reload = () => refetch({ requestPolicy: 'network-only' });

  return (
    <section aria-labelledby="alerts-title">
      <div className="page-header">
        <h1 id="alerts-title">Alerts</h1>
        <span className="spacer" />
        <button type="button" className="button-primary" onClick={() => (setMessage(null), setEditing('new'))}>
          Add channel
        </button>
      </div>
      <p className="muted">
        Where Labkeeper tells people that something needs attention: failed backups and drills, expiring tokens,
        repositories without a recent backup, storage problems, unusual changes, and daily or weekly summaries.
      </p>
      {message ? <Notice kind="success">{message}</Notice> : null}
      {result.fetching && !result.data ? <Loading /> : null}
      <ErrorNotice error={result.error} />
      {result.data && channels.length === 0 ? (
        <Empty title="No channel yet: nobody is told when a backup fails.">
          Add an e-mail address, a webhook, a Slack channel or a heartbeat.
        </Empty>
      ) : null}
      <ul className="plain-list channel-list" aria-label="Notification channels">
        {channels.map((c) => (
          <ChannelItem
            key={c.id}
            channel={c}
            scope={orgName(c.organizationId)}
            onEdit={() => (setMessage(null), setEditing(c))}
            onDelete={() => (setMessage(null), setDeleting(c))}
          />
        ))}
      </ul>

      <Dialog
        title={editing === 'new' ? 'Add a notification channel' : `Change ${editing?.name ?? 'channel'}`}
        open={editing !== null}
        onClose={() => setEditing(null)}
      >
        {editing !== null ? (
          <ChannelForm
            channel={editing === 'new' ? null : editing}
            organizations={organizations}
            onCancel={() => setEditing(null)}
            onSaved={(saved) => {
              setMessage(`“${saved.name}” was ${editing === 'new' ? 'added' : 'saved'}.`);
              setEditing(null);
              reload();
            }}
          />
        ) : null}
      </Dialog>
      <DeleteChannelDialog
        channel={deleting}
        onClose={() => setDeleting(null)}
        onDeleted={(name) => {
          setDeleting(null);
          setMessage(`“${name}” was deleted.`);
          reload();
        }}
      />
    </section>
  );
}

function ChannelItem({
  channel,
  scope,
  onEdit,
  onDelete,
}: {
  channel: Channel;
  scope: string;
  onEdit: () => void;
  onDelete: () => void;
}) {
  const [test, send] = useMutation(TestNotificationChannelDocument);
  const [tests, setTests] = useState(0);
  const outcome = test.data?.testNotificationChannel;
  const refusal = problemOf(test.error).message;
  return (
    <li aria-label={channel.name}>
      <div className="row">
        <strong>{channel.name}</strong>
        <span className="badge badge-idle">{kindLabel(channel.kind)}</span>
        {channel.isEnabled ? null : <span className="badge badge-warn">Paused</span>}
      </div>
      <p className="muted">
        {where(channel)} · for {scope}
      </p>
      <p>{describeRules(channel)}</p>
      <div className="row">
        <button
          type="button"
          disabled={test.fetching}
          onClick={() => send({ id: channel.id }).then(() => setTests((n) => n + 1))}
        >
          {test.fetching ? 'Sending a test…' : 'Send a test'}
        </button>
        <button type="button" onClick={onEdit}>
          Change
        </button>
        <button type="button" className="button-danger" aria-label={`Delete ${channel.name}`} onClick={onDelete}>
          Delete
        </button>
      </div>
      {outcome ? (
        <Notice kind={outcome.isDelivered ? 'success' : 'error'}>
          {outcome.isDelivered
            ? `The test alert was delivered (in ${outcome.durationMs} ms).`
            : `The test alert was not delivered: ${outcome.message}.`}
        </Notice>
      ) : null}
      {refusal ? <ErrorNotice message={`No test was sent: ${refusal}`} /> : null}
      <DeliveryLog channelId={channel.id} channelName={channel.name} refreshKey={tests} />
    </li>
  );
}

function DeleteChannelDialog({
  channel,
  onClose,
  onDeleted,
}: {
  channel: Channel | null;
  onClose: () => void;
  onDeleted: (name: string) => void;
}) {
  const [result, remove] = useMutation(DeleteNotificationChannelDocument);
  return (
    <ConfirmDialog
      title="Delete channel?"
      subject={channel}
      onClose={onClose}
      action="Delete channel"
      busyAction="Deleting…"
      busy={result.fetching}
      refusedAs="Not deleted"
      confirm={async (channel) => {
        const done = await remove({ id: channel.id });
        if (!done.data?.deleteNotificationChannel) return problemOf(done.error).message;
        onDeleted(channel.name);
        return null;
      }}
    >
      {(channel) => (
        <p>
          Delete <strong>{channel.name}</strong>? It will not be told about anything any more.
        </p>
      )}
    </ConfirmDialog>
  );
}
