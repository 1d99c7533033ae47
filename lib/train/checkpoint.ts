// Atomic training checkpoints. Each save writes a complete directory under a temporary name, syncs
// it, renames it to `ckpt-<step>`, then points the `LATEST` file at it (write temp + rename). A
// rename is atomic on POSIX file systems, so after a `kill -9` at any instant LATEST names a
// complete checkpoint (or does not exist yet) and `--resume` can trust it.
import * as fs from 'fs';
import * as path from 'path';

const LATEST = 'LATEST';
const PREFIX = 'ckpt-';

function fsyncPath(p: string): void {
  let fd = -1;
  try {
    fd = fs.openSync(p, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic there.
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/** Writes `text` to `file` atomically (temp file in the same directory, fsync, rename). */
export function writeFileAtomic(file: string, text: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fsyncPath(tmp);
  fs.renameSync(tmp, file);
}

/**
 * Saves one checkpoint: `write(dir)` fills a fresh directory; it becomes `outDir/ckpt-<step>` and
 * LATEST points at it. Older checkpoints beyond the newest `keep` are removed. Returns the path.
 */
export function saveCheckpoint(outDir: string, step: number, write: (dir: string) => void, keep = 2): string {
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`saveCheckpoint: step must be a non-negative integer, got ${step}`);
  fs.mkdirSync(outDir, { recursive: true });
  const name = `${PREFIX}${String(step).padStart(8, '0')}`;
  const tmp = path.join(outDir, `.tmp-${name}-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  write(tmp);
  for (const f of fs.readdirSync(tmp)) fsyncPath(path.join(tmp, f));
  fsyncPath(tmp);
  const final = path.join(outDir, name);
  fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(tmp, final);
  fsyncPath(outDir);
  writeFileAtomic(path.join(outDir, LATEST), name + '\n');
  prune(outDir, name, keep);
  return final;
}

function prune(outDir: string, current: string, keep: number): void {
  const all = fs.readdirSync(outDir).filter((f) => f.startsWith(PREFIX)).sort();
  for (const f of all.slice(0, Math.max(0, all.length - keep))) if (f !== current) fs.rmSync(path.join(outDir, f), { recursive: true, force: true });
  // Temp directories left by a killed run are garbage.
  for (const f of fs.readdirSync(outDir)) if (f.startsWith('.tmp-') && !f.endsWith(`-${process.pid}`)) fs.rmSync(path.join(outDir, f), { recursive: true, force: true });
}

/** The directory LATEST points at, or null when `outDir` has no checkpoint. */
export function latestCheckpoint(outDir: string): string | null {
  const file = path.join(outDir, LATEST);
  if (!fs.existsSync(file)) return null;
  const name = fs.readFileSync(file, 'utf8').trim();
  if (!name.startsWith(PREFIX) || name.includes('/') || name.includes('\\')) throw new Error(`${file}: does not name a checkpoint directory (got ${JSON.stringify(name)})`);
  const dir = path.join(outDir, name);
  if (!fs.existsSync(dir)) throw new Error(`${file}: points at ${name}, which does not exist`);
  return dir;
}
