// Output that appears complete or not at all: a command writes into a hidden sibling directory
// (`.NAME.echogen-tmp-PID`) and renames it to its final name on success. A run that is
// interrupted removes its own temporary directory; one that was killed (SIGKILL) leaves it hidden
// next to the output, and the next run for the same output removes it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from './verb';

const TAG = '.echogen-tmp-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class StagedDir {
  readonly tmp: string;

  /** Stages `dir`; `force` allows replacing an existing non-empty `dir` (only once the new one is complete). */
  constructor(readonly dir: string, readonly force: boolean, option = '--out') {
    const parent = path.dirname(path.resolve(dir));
    const base = path.basename(path.resolve(dir));
    if (fs.existsSync(dir)) {
      if (!fs.statSync(dir).isDirectory()) throw new UsageError(`${option} ${dir}: exists and is not a directory`);
      if (fs.readdirSync(dir).length > 0 && !force) throw new UsageError(`${option} ${dir}: exists and is not empty; choose another ${option} or pass --force to replace it`);
    }
    fs.mkdirSync(parent, { recursive: true });
    // Temporary directories of killed runs for the same output.
    for (const f of fs.readdirSync(parent)) {
      if (!f.startsWith(`.${base}${TAG}`)) continue;
      const pid = Number(f.slice(`.${base}${TAG}`.length));
      if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) fs.rmSync(path.join(parent, f), { recursive: true, force: true });
    }
    this.tmp = path.join(parent, `.${base}${TAG}${process.pid}`);
    fs.rmSync(this.tmp, { recursive: true, force: true });
    fs.mkdirSync(this.tmp);
  }

  /** Moves the complete output into place (replacing an old one only now). */
  commit(): void {
    if (fs.existsSync(this.dir)) {
      const old = `${this.tmp}-old`;
      fs.renameSync(this.dir, old);
      fs.renameSync(this.tmp, this.dir);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(this.tmp, this.dir);
    }
  }

  abort(): void {
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** Resolves on the next turn of the event loop, where pending signal handlers run. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Installs SIGINT and SIGTERM handlers that record the signal (instead of killing the process);
 * `stop()` removes them. A second signal while the first is being handled exits at once (130).
 */
export function catchInterrupts(): { signal: () => NodeJS.Signals | null; stop: () => void } {
  let got: NodeJS.Signals | null = null;
  const handler = (s: NodeJS.Signals): void => {
    if (got !== null) process.exit(130);
    got = s;
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: () => got,
    stop: () => { process.off('SIGINT', handler); process.off('SIGTERM', handler); },
  };
}
