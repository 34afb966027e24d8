/**
 * Validates every argument at the GraphQL edge, from the schema's own types, before any resolver
 * or database sees it: an `ID` must be a UUID (every Labkeeper id is one), and no string anywhere
 * may contain a NUL character or a lone UTF-16 surrogate (PostgreSQL cannot store either) or be
 * longer than MAX_STRING_LENGTH. A failure is a VALIDATION_FAILED domain error naming each
 * offending argument path (`id`, `input.repositoryIds`), which errors.ts maps to
 * BAD_USER_INPUT. Registered as a global type-graphql middleware, after the role check.
 */
import {
  getNamedType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLInputType,
} from 'graphql';
import type { MiddlewareFn } from 'type-graphql';
import { validationError } from '../shared/errors.js';

export const MAX_STRING_LENGTH = 100_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What is wrong with a string for storage, or null. */
export function stringProblem(value: string): string | null {
  if (value.length > MAX_STRING_LENGTH) return `is too long (at most ${MAX_STRING_LENGTH} characters)`;
  if (value.includes('\u0000')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode text (it contains a lone surrogate)';
  return null;
}

function checkAny(value: unknown, path: string, problems: Record<string, string>): void {
  if (typeof value === 'string') {
    const problem = stringProblem(value);
    if (problem) problems[path] = problem;
  } else if (Array.isArray(value)) value.forEach((v, i) => checkAny(v, `${path}[${i}]`, problems));
  else if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    for (const [k, v] of Object.entries(value)) {
      const keyProblem = stringProblem(k);
      if (keyProblem) problems[path] = `has a key that ${keyProblem}`;
      checkAny(v, `${path}.${k}`, problems);
    }
  }
}

function check(value: unknown, type: GraphQLInputType, path: string, problems: Record<string, string>): void {
  if (value === null || value === undefined) return;
  if (isNonNullType(type)) return check(value, type.ofType, path, problems);
  if (isListType(type)) {
    // Problems of items are reported at the list's path (the field a form shows), naming the item.
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        const inner: Record<string, string> = {};
        check(v, type.ofType, path, inner);
        for (const [p, m] of Object.entries(inner)) problems[p] ??= p === path ? `item ${i + 1} ${m}` : m;
      });
    }
    return;
  }
  if (isInputObjectType(type)) {
    const fields = type.getFields();
    for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
      const field = fields[name];
      if (field) check(v, field.type, `${path}.${name}`, problems);
    }
    return;
  }
  if (isScalarType(getNamedType(type)) && getNamedType(type).name === 'ID') {
    if (typeof value !== 'string' || !UUID.test(value)) problems[path] = 'must be a Labkeeper id (a UUID)';
    return;
  }
  checkAny(value, path, problems);
}

export const InputGuardMiddleware: MiddlewareFn = ({ args, info }, next) => {
  if (!args || Object.keys(args).length === 0) return next();
  const definition = info.parentType.getFields()[info.fieldName];
  const problems: Record<string, string> = {};
  for (const arg of definition?.args ?? []) check(args[arg.name], arg.type, arg.name, problems);
  if (Object.keys(problems).length > 0) throw validationError(problems);
  return next();
};
