import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { EventHookView } from './event-hook.service.js';
import type { EventHookState } from './webhook.entity.js';

export enum EventHookStateEnum {
  DISABLED = 'DISABLED',
  ACTIVE = 'ACTIVE',
  MISSING = 'MISSING',
  FORBIDDEN = 'FORBIDDEN',
  UNSUPPORTED = 'UNSUPPORTED',
}
registerEnumType(EventHookStateEnum, {
  name: 'EventHookState',
  description: "Where an organization's group webhook for event-driven backups stands.",
  valuesConfig: {
    DISABLED: { description: 'Event-driven backups are off.' },
    ACTIVE: { description: 'The group webhook exists upstream with our URL, events and secret.' },
    MISSING: { description: 'It should exist but could not be created or checked yet; the next check retries.' },
    FORBIDDEN: {
      description: "The connection may not manage the group's webhooks (Owner and the api scope; GitLab Premium).",
    },
    UNSUPPORTED: { description: 'A user namespace: GitLab has no group webhooks there.' },
  },
});

@ObjectType({
  simpleResolvers: true,
  description:
    'Event-driven backups of an organization: a group webhook makes GitLab report pushes, tags, merge requests, issues, notes, wiki pages and releases, and each touched repository is backed up (trigger EVENT) once the quiet period after its last event is over. Scheduled runs stay on as the safety net.',
})
export class EventDrivenBackups {
  @Field(() => ID) organizationId!: string;
  @Field() isEnabled!: boolean;
  @Field(() => EventHookStateEnum) state!: EventHookState;
  @Field(() => String, { nullable: true, description: 'Why the state is not ACTIVE.' }) problem!: string | null;
  @Field(() => Int, { nullable: true, description: "The webhook's id in GitLab." }) gitlabHookId!: number | null;
  @Field({ description: 'Where GitLab posts the events.' }) receiverUrl!: string;
  @Field(() => Date, { nullable: true, description: 'Last time the webhook was checked upstream.' })
  checkedAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'Last time Labkeeper (re-)created it upstream.' })
  registeredAt!: Date | null;
  @Field(() => Date, { nullable: true }) lastDeliveryAt!: Date | null;
  @Field(() => Int, { description: 'Repositories waiting for their event-triggered backup.' })
  pendingRepositories!: number;

  static from(view: EventHookView): EventDrivenBackups {
    return Object.assign(new EventDrivenBackups(), view);
  }
}

@InputType()
export class SetEventDrivenBackupsInput {
  @Field(() => ID) organizationId!: string;
  @Field() isEnabled!: boolean;
}
