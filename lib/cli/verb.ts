// The shape of one `echogen` command: its options (node:util parseArgs) and its handler.
import type { ParseArgsConfig } from 'node:util';

export interface VerbArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export interface Verb {
  name: string;
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Returns the process exit code. */
  run(args: VerbArgs): Promise<number>;
}

/** An error whose message is printed alone (no stack) and exits with `code`. */
export class UsageError extends Error {
  constructor(message: string, readonly code = 2) {
    super(message);
    this.name = 'UsageError';
  }
}

export function requireString(args: VerbArgs, name: string): string {
  const v = args.values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

export function intOption(args: VerbArgs, name: string, fallback: number, min = 0): number {
  const v = args.values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${String(v)}`);
  return n;
}
