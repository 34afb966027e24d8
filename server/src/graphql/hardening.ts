/**
 * Limits on what one GraphQL document may ask for, from GraphQL Armor (escape.tech), applied as
 * validation rules to HTTP and graphql-ws alike. Introspection stays available for integrators.
 */
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import type { ValidationRule } from 'graphql';

export const LIMITS = { maxDepth: 10, maxAliases: 15, maxCost: 20000, maxTokens: 5000 } as const;

export const hardeningRules: ValidationRule[] = [
  maxDepthRule({ n: LIMITS.maxDepth, ignoreIntrospection: true, exposeLimits: true }),
  maxAliasesRule({ n: LIMITS.maxAliases, exposeLimits: true }),
  costLimitRule({ maxCost: LIMITS.maxCost, ignoreIntrospection: true, exposeLimits: true }),
] as unknown as ValidationRule[];
