/** What one alert says on each kind of channel: e-mail text, a Slack message, a webhook's JSON, a heartbeat ping. */
import type { AlertEntity } from './alert.entity.js';

export interface AlertMessage {
  subject: string;
  text: string;
  slackText: string;
  /** The webhook's JSON body (documented in the README). */
  payload: Record<string, unknown>;
  /** A heartbeat channel pings its URL (`ok`) or `<url>/fail`; null: not a run's outcome. */
  heartbeat: 'ok' | 'fail' | null;
}

const HEARTBEAT: Partial<Record<AlertEntity['kind'], 'ok' | 'fail'>> = {
  RUN_SUCCEEDED: 'ok',
  RUN_PARTIAL: 'fail',
  RUN_FAILED: 'fail',
  TEST: 'ok',
};

/** Slack's mrkdwn treats &, < and > as markup. */
const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function alertMessage(alert: AlertEntity, deliveryId: string): AlertMessage {
  const link = alert.link ? `\n\nOpen in Labkeeper: ${alert.link}` : '';
  return {
    subject: `[Labkeeper] ${alert.title}`,
    text: `${alert.title}\n\n${alert.message}${link}\n\n-- \nLabkeeper alert ${alert.kind}, ${alert.occurredAt.toISOString()}`,
    slackText:
      `*${slackEscape(alert.title)}*\n${slackEscape(alert.message)}` +
      (alert.link ? `\n<${alert.link}|Open in Labkeeper>` : ''),
    payload: {
      alertId: alert.id,
      deliveryId,
      kind: alert.kind,
      organizationId: alert.organizationId,
      title: alert.title,
      message: alert.message,
      link: alert.link,
      occurredAt: alert.occurredAt.toISOString(),
      details: alert.details,
    },
    heartbeat: HEARTBEAT[alert.kind] ?? null,
  };
}
