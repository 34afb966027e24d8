/**
 * Limits on what one GraphQL document may ask for, from GraphQL Armor (escape.tech), applied as
 * validation rules to HTTP and graphql-ws alike. Introspection stays available for integrators.
 */
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import type { GraphQLError, ValidationContext, ValidationRule } from 'graphql';

export const LIMITS = { maxDepth: 10, maxAliases: 15, maxCost: 20000, maxTokens: 5000 } as const;

/** Report a rejection as an ordinary validation error (400, in `errors`), instead of throwing. */
const report = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
  exposeLimits: true,
};

export const hardeningRules: ValidationRule[] = [
  maxDepthRule({ n: LIMITS.maxDepth, ignoreIntrospection: true, ...report }),
  maxAliasesRule({ n: LIMITS.maxAliases, ...report }),
  costLimitRule({ maxCost: LIMITS.maxCost, ignoreIntrospection: true, ...report }),
];
