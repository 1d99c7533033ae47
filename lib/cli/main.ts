// The `echogen` command: dispatches to one verb, prints --help (generated from each verb's option
// table) and --version, and turns every error into one line and an exit code:
//   echogen <verb>: <file>:<line>: <reason>    (or `echogen <verb>: <reason>` when no file is involved)
//   exit 0 ok, 1 bad input, 2 usage error, 130 interrupted (train saves a checkpoint first).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LayoutError } from '../data';
import { EXIT_INPUT, EXIT_USAGE, InputError, UsageError, Verb, parseArgsOptions } from './verb';
import { verbs } from './verbs';
import { PACKAGE_ROOT } from './shipped';

export const ERROR_HELP = [
  'Errors are one line on stderr: "echogen <command>: <file>:<line>: <reason>" when a file is involved,',
  '"echogen <command>: <reason>" otherwise. Exit codes: 0 success, 1 bad input (a file, word, image or',
  'checkpoint), 2 usage error (unknown option, missing or out-of-range value), 130 interrupted.',
];

export function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export function globalHelp(): string {
  const width = Math.max(...verbs.map((v) => v.name.length));
  return [
    'usage: echogen <command> [options]   (echogen <command> --help lists its options)',
    '       echogen --version',
    '',
    ...verbs.map((v) => `  ${v.name.padEnd(width)}  ${v.summary}`),
    '',
    ...ERROR_HELP,
  ].join('\n');
}

function flag(name: string, v: Verb): string {
  const o = v.options[name];
  return `--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
}

export function verbHelp(v: Verb): string {
  const required = v.required ?? [];
  const usage = ['echogen', v.name, ...(v.positionals ? [v.positionals] : []), ...required.map((r) => flag(r, v)), '[options]'].join(' ');
  const rows = Object.keys(v.options).map((name) => {
    const o = v.options[name];
    const def = o.default === undefined ? '' : ` (default: ${o.default})`;
    const req = required.includes(name) ? ' (required)' : '';
    return [flag(name, v), `${o.description}${req}${def}`];
  });
  rows.push(['--help', 'print this help']);
  const width = Math.max(...rows.map((r) => r[0].length));
  return [
    `usage: ${usage}`,
    '',
    v.summary,
    '',
    'options:',
    ...rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`),
    ...(v.notes && v.notes.length ? ['', ...v.notes] : []),
    '',
    ...ERROR_HELP,
  ].join('\n');
}

/**
 * `--batch -4` would make parseArgs call the value "ambiguous" (it looks like an option): a string
 * option followed by a negative number takes it as its value, so the range check can name it.
 */
function joinNegativeValues(args: readonly string[], v: Verb): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const name = a.startsWith('--') ? a.slice(2) : '';
    const next = args[i + 1];
    if (name && v.options[name]?.type === 'string' && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** The first line of a message (parseArgs adds hints on further lines). */
const firstLine = (s: string): string => s.split('\n')[0];

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(version());
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    if (name) console.log(globalHelp());
    else console.error(globalHelp());
    return name ? 0 : EXIT_USAGE;
  }
  const verb = verbs.find((v) => v.name === name);
  if (!verb) {
    console.error(`echogen: unknown command '${name}' (known: ${verbs.map((v) => v.name).join(', ')}; echogen --help)`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(verbHelp(verb));
    return 0;
  }
  try {
    const { values, positionals } = parseArgs({ args: joinNegativeValues(rest, verb), options: parseArgsOptions(verb.options), allowPositionals: true, strict: true });
    if (!verb.positionals && positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    for (const r of verb.required ?? []) if (values[r] === undefined) throw new UsageError(`--${r} is required`);
    return await verb.run({ values: values as Record<string, string | boolean | undefined>, positionals, argv: rest });
  } catch (e) {
    const err = e as Error & { code?: string | number };
    if (err instanceof UsageError || err instanceof InputError) {
      console.error(`echogen ${name}: ${firstLine(err.message)}`);
      return err.code;
    }
    if (err instanceof LayoutError) {
      console.error(`echogen ${name}: ${firstLine(err.message)}`);
      return EXIT_INPUT;
    }
    if (typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) {
      console.error(`echogen ${name}: ${firstLine(err.message)} (echogen ${name} --help lists the options)`);
      return EXIT_USAGE;
    }
    console.error(`echogen ${name}: ${err && err.message ? firstLine(err.message) : String(err)}`);
    if (process.env.ECHOGEN_DEBUG) console.error(err.stack);
    return EXIT_INPUT;
  }
}
