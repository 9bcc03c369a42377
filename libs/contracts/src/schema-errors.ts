import type { z } from 'zod';
import { ContractError } from './contract-error';

/** Turns the first zod issue into a ContractError naming the field and what is allowed. */
export function contractErrorFromZod(error: z.ZodError, source: string): ContractError {
  const issue = error.issues[0];
  if (!issue) return new ContractError('invalid value', source);
  const field = issue.path.length ? issue.path.map(String).join('.') : '(root)';
  return new ContractError(`${field}: ${issue.message}`, source, field);
}

/** Parses `value` with `schema`, throwing a ContractError instead of a ZodError. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, source: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw contractErrorFromZod(result.error, source);
  return result.data;
}
