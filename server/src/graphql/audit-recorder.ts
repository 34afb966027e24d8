/**
 * Turns executed GraphQL operations into audit events, for HTTP (an Apollo plugin, server.ts) and
 * WebSocket (graphql-ws hooks, ws-server.ts) alike: one event per root field of a mutation, with
 * its arguments (the service redacts secrets), the token, the client, and how the field ended —
 * OK, or the public `extensions.code` of its error (a role refusal is FORBIDDEN, bad input
 * BAD_USER_INPUT; an error before execution counts for every field). Queries and subscriptions
 * are not audited. Sign-ins are recorded by the transports (`signIn`).
 */
import {
  getArgumentValues,
  getOperationAST,
  Kind,
  OperationTypeNode,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type SelectionSetNode,
  type FieldNode,
} from 'graphql';
import type { Principal } from '../access/api-token.service.js';
import type { AuditService } from '../audit/audit.service.js';
import type { AuditTransport } from '../audit/audit-event.entity.js';

export interface AuditClient {
  address: string;
  userAgent: string | null;
  transport: AuditTransport;
}

export interface ExecutedOperation {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  /** The response's errors, already formatted (public codes). */
  errors?: readonly (
    GraphQLFormattedError | { path?: readonly (string | number)[]; extensions?: Record<string, unknown> }
  )[];
  /** False when the operation failed before execution (no `data`). */
  executed: boolean;
  principal: Principal | null;
  client: AuditClient;
}

/** Records every root field of a mutation; does nothing for queries and subscriptions. */
export async function auditOperation(audit: AuditService, op: ExecutedOperation): Promise<void> {
  const operation = getOperationAST(op.document, op.operationName ?? undefined);
  if (!operation || operation.operation !== OperationTypeNode.MUTATION) return;
  const mutationType = op.schema.getMutationType();
  const fields = rootFields(operation.selectionSet, op.document);
  const variables = op.variables ?? {};
  for (const field of fields) {
    const key = field.alias?.value ?? field.name.value;
    const definition = mutationType?.getFields()[field.name.value];
    let args: Record<string, unknown>;
    try {
      args = definition ? getArgumentValues(definition, field, variables) : {};
    } catch {
      args = { ...variables }; // variables that did not coerce: recorded as given (redacted)
    }
    const error = op.errors?.find((e) => !op.executed || (e.path?.length === 1 && e.path[0] === key));
    const given = error?.extensions?.code;
    const code = error ? (typeof given === 'string' ? given : 'INTERNAL_SERVER_ERROR') : null;
    await audit.record({
      tokenId: op.principal?.tokenId ?? null,
      tokenName: op.principal?.tokenName ?? null,
      tokenRole: op.principal?.role ?? null,
      operation: field.name.value,
      transport: op.client.transport,
      arguments: args,
      errorCode: code,
      clientAddress: op.client.address,
      userAgent: op.client.userAgent,
    });
  }
}

/** A sign-in: a WebSocket's connection_init, or a failed authentication on either transport. */
export function auditSignIn(
  audit: AuditService,
  sign: { principal: Principal | null; client: AuditClient; errorCode: string | null },
): Promise<void> {
  return audit.record({
    tokenId: sign.principal?.tokenId ?? null,
    tokenName: sign.principal?.tokenName ?? null,
    tokenRole: sign.principal?.role ?? null,
    operation: 'signIn',
    transport: sign.client.transport,
    arguments: {},
    errorCode: sign.errorCode,
    clientAddress: sign.client.address,
    userAgent: sign.client.userAgent,
  });
}

function rootFields(selectionSet: SelectionSetNode, document: DocumentNode): FieldNode[] {
  return selectionSet.selections.flatMap((selection) => {
    if (selection.kind === Kind.FIELD) return selection.name.value === '__typename' ? [] : [selection];
    if (selection.kind === Kind.INLINE_FRAGMENT) return rootFields(selection.selectionSet, document);
    const fragment = document.definitions.find(
      (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value,
    );
    return fragment && fragment.kind === Kind.FRAGMENT_DEFINITION ? rootFields(fragment.selectionSet, document) : [];
  });
}
