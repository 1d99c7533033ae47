// Progress bars on stderr for long work (stdout stays clean for --json).
import { SingleBar } from 'cli-progress';

export interface Progress {
  tick(n?: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

/** A bar with count, rate, ETA and optional fields (e.g. loss, tok/s); silent when stderr is not a TTY unless forced. */
export function progress(label: string, total: number, fieldNames: string[] = []): Progress {
  const extra = fieldNames.map((f) => `${f} {${f}}`).join(' | ');
  const bar = new SingleBar({
    format: `${label} [{bar}] {value}/{total} | {percentage}% | ETA {eta_formatted}${extra ? ' | ' + extra : ''}`,
    stream: process.stderr,
    hideCursor: false,
    noTTYOutput: process.env.ECHOGEN_PROGRESS === '1',
    notTTYSchedule: 5000,
    etaBuffer: 50,
  });
  const initial: Record<string, string> = {};
  for (const f of fieldNames) initial[f] = '-';
  bar.start(total, 0, initial);
  return {
    tick(n = 1, fields) { bar.increment(n, fields); },
    stop() { bar.stop(); },
  };
}
