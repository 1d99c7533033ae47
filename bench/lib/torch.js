// The PyTorch CPU peer (bench/peers/torch/*.py), run as a long-lived child process that answers one
// JSON line per command, so a suite can interleave echogen and PyTorch rounds in the same run.
// PyTorch comes from Debian (bench/setup-torch.sh); it is looked for in /usr/bin/python3 first (a
// pyenv or venv python3 on PATH does not see Debian's dist-packages), then in `python3`.
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const PEERS = path.join(__dirname, '..', 'peers', 'torch');
let found;

/** The python executable that can `import torch`, or null (cached). */
function python() {
  if (found !== undefined) return found;
  found = null;
  for (const exe of [process.env.ECHOGEN_BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean)) {
    if (exe.startsWith('/') && !fs.existsSync(exe)) continue;
    const r = spawnSync(exe, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120e3 });
    if (r.status === 0) { found = { exe, version: r.stdout.trim() }; break; }
  }
  return found;
}

/** Starts `python3 bench/peers/torch/<script> args...`; resolves to { ready, ask(cmd), close() } once it prints its first line. */
function start(script, args, { threads, timeoutMs = 15 * 60e3 } = {}) {
  const py = python();
  if (!py) return Promise.reject(new Error('PyTorch is not installed (sh bench/setup-torch.sh)'));
  const env = { ...process.env };
  if (threads) Object.assign(env, { OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) });
  const child = spawn(py.exe, [path.join(PEERS, script), ...args, ...(threads ? ['--threads', String(threads)] : [])], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let buf = '', err = '';
  const waiting = [];
  const fail = (e) => { while (waiting.length) waiting.shift().reject(e); };
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiting.shift();
      if (!w) continue;
      try { w.resolve(JSON.parse(line)); } catch (e) { w.reject(new Error(`torch peer: not JSON: ${line.slice(0, 200)}`)); }
    }
  });
  child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
  child.on('exit', (code, sig) => {
    const last = err.split('\n').filter((l) => l.trim()).slice(-1)[0] || '';
    fail(new Error(`torch peer exited (${sig || `code ${code}`})${last ? `: ${last}` : ''}`));
  });
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  const next = () => new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  const ready = next();
  return ready.then((first) => ({
    first,
    version: py.version,
    ask(cmd) { const p = next(); child.stdin.write(cmd + '\n'); return p; },
    close() { clearTimeout(timer); try { child.stdin.end('quit\n'); } catch { /* gone */ } },
  }), (e) => { clearTimeout(timer); throw e; });
}

/** min, median and mean of a list of ms. */
function stats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { min: s[0], median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, mean: s.reduce((a, b) => a + b, 0) / s.length, n: s.length };
}

module.exports = { python, start, stats };
