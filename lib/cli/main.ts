// The `echogen` command: dispatches to one verb, prints --help, turns errors into one line + exit code.
import { parseArgs } from 'node:util';
import { UsageError, Verb } from './verb';
import { verbs } from './verbs';

function globalHelp(): string {
  const width = Math.max(...verbs.map((v) => v.name.length));
  return [
    'usage: echogen <command> [options]   (echogen <command> --help for its options)',
    '',
    ...verbs.map((v) => `  ${v.name.padEnd(width)}  ${v.summary}`),
  ].join('\n');
}

function verbHelp(v: Verb): string {
  const lines = [`usage: ${v.usage}`, '', v.summary, ''];
  for (const [name, o] of Object.entries(v.options)) {
    const flag = `--${name}${o.type === 'string' ? ' <value>' : ''}`;
    lines.push(`  ${flag}`);
  }
  lines.push('  --help');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(globalHelp());
    return name ? 0 : 2;
  }
  const verb = verbs.find((v) => v.name === name);
  if (!verb) {
    console.error(`echogen: unknown command '${name}'\n\n${globalHelp()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(verbHelp(verb));
    return 0;
  }
  try {
    const { values, positionals } = parseArgs({ args: rest, options: verb.options, allowPositionals: true, strict: true });
    return await verb.run({ values: values as Record<string, string | boolean | undefined>, positionals });
  } catch (e) {
    const err = e as Error & { code?: string | number };
    if (err instanceof UsageError) {
      console.error(`echogen ${name}: ${err.message}`);
      return err.code;
    }
    if (typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) {
      console.error(`echogen ${name}: ${err.message}\n\n${verbHelp(verb)}`);
      return 2;
    }
    console.error(`echogen ${name}: ${err && err.message ? err.message : String(err)}`);
    if (process.env.ECHOGEN_DEBUG) console.error(err.stack);
    return 1;
  }
}
