// The shape of one `echogen` command: its options, declared once (type, description, default), from
// which both node:util parseArgs's configuration and `--help` are generated, and its handler.
// Error convention (printed by main.ts): `echogen <verb>: <file>:<line>: <reason>` where a file is
// involved, `echogen <verb>: <reason>` otherwise; exit code 1 for bad input, 2 for usage errors.
import type { ParseArgsConfig } from 'node:util';

export const EXIT_OK = 0;
/** Bad input: a file that does not parse, an unknown word, a missing or corrupt checkpoint. */
export const EXIT_INPUT = 1;
/** Usage error: an unknown command or option, a missing or out-of-range option value. */
export const EXIT_USAGE = 2;
/** Interrupted (SIGINT/SIGTERM) after saving what can be resumed: 128 + SIGINT. */
export const EXIT_INTERRUPTED = 130;

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** One line for --help. */
  description: string;
  /** The placeholder of a string option's value in --help, e.g. 'N', 'DIR' (default 'VALUE'). */
  value?: string;
  /** The default as --help shows it, when there is one. */
  default?: string;
}

export type OptionTable = Record<string, OptionSpec>;

export interface VerbArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** The command line after the verb, as given (for messages that repeat it). */
  argv?: readonly string[];
}

export interface Verb {
  name: string;
  summary: string;
  /** The positional arguments as the usage line shows them, e.g. 'l2i|ground' (none when absent). */
  positionals?: string;
  /** Options that must be given (listed in the usage line). */
  required?: readonly string[];
  options: OptionTable;
  /** Extra lines for --help (examples, notes). */
  notes?: readonly string[];
  /** Returns the process exit code. */
  run(args: VerbArgs): Promise<number>;
}

/** A usage error: printed as `echogen <verb>: <message>`, exit code 2 unless told otherwise. */
export class UsageError extends Error {
  constructor(message: string, readonly code: number = EXIT_USAGE) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Bad input, naming the file (and line) when there is one: `<file>:<line>: <reason>`, exit code 1. */
export class InputError extends Error {
  readonly code = EXIT_INPUT;
  constructor(readonly reason: string, readonly file?: string, readonly line?: number) {
    super(file === undefined ? reason : line === undefined ? `${file}: ${reason}` : `${file}:${line}: ${reason}`);
    this.name = 'InputError';
  }
}

/** node:util parseArgs's option configuration for a table. */
export function parseArgsOptions(options: OptionTable): NonNullable<ParseArgsConfig['options']> {
  const out: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, o] of Object.entries(options)) out[name] = { type: o.type };
  return out;
}

export function requireString(args: VerbArgs, name: string): string {
  const v = args.values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

export interface IntRange {
  min: number;
  max: number;
}

/**
 * An integer option written in digits (no exponent, no fraction) within [min, max]; `fallback`
 * when absent. Checked before any work starts.
 */
export function intOption(args: VerbArgs, name: string, fallback: number, range: IntRange): number {
  const v = args.values[name];
  if (v === undefined) return fallback;
  return parseIntIn(String(v), `--${name}`, range);
}

/** Parses `text` as an integer in [min, max]; a UsageError naming `what` otherwise. */
export function parseIntIn(text: string, what: string, { min, max }: IntRange): number {
  const t = text.trim();
  const n = /^[+-]?\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${what} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** A finite number option within [min, max]. */
export function numberOption(args: VerbArgs, name: string, fallback: number, { min, max }: IntRange): number {
  const v = args.values[name];
  if (v === undefined) return fallback;
  const t = String(v).trim();
  const n = t === '' ? NaN : Number(t);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(String(v))}`);
  return n;
}

/** One of `choices` (the first is the default when absent). */
export function choiceOption<T extends string>(args: VerbArgs, name: string, choices: readonly T[], fallback: T): T {
  const v = args.values[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(String(v))}`);
  return v as T;
}

/** The largest seed: seeds are 32-bit. */
export const MAX_SEED = 0xffffffff;
