#!/usr/bin/env node
// The fuzzer of record: random calls of every native entry point (kernels, support ops, tensor
// functions and methods) with empty, zero-size, one-element, huge (2^31), negative and fractional
// shapes, both dtypes, NaN/Inf data, disposed tensors and views, wrong option types and values.
// Each call must return or throw a clear JS error; a crash, a hang or a memory blow-up is a failure
// and prints the call that caused it (runnable as is: see scripts/fuzz-lib.js). The calls come from
// scripts/fuzz-gen.js.
//
//   npm run fuzz -- [--calls N] [--seed S] [--hang-ms MS] [--max-rss-mb MB] [--json FILE]
//
// Sanitizer run: build with `npx cmake-js compile --out build-asan --CDECHOGEN_SANITIZE=ON`, then
//   ECHOGEN_ADDON=$PWD/build-asan/Release/echogen.node LD_PRELOAD=$(gcc -print-file-name=libasan.so) \
//   ASAN_OPTIONS=detect_leaks=0 npm run fuzz -- --calls 20000 --max-rss-mb 8192
// (any "runtime error:" or AddressSanitizer report in the child's stderr fails the run).
//
// The calls run in a child process watched by this one (exit status, signal, RSS, time since the
// last call began). Results: counts by outcome class (ok, TypeError, RangeError, Error) overall and
// per function; contract checks on some successful results (IoU in [0, 1], finite rewards, ...).
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const { generator, contract } = require('./fuzz-gen');

function parseArgs(argv) {
  const o = { calls: 3000, seed: 1, hangMs: 30000, maxRssMb: 4096, json: null, child: false, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], next = () => argv[++i];
    if (a === '--calls') o.calls = Number(next());
    else if (a === '--seed') o.seed = Number(next());
    else if (a === '--hang-ms') o.hangMs = Number(next());
    else if (a === '--max-rss-mb') o.maxRssMb = Number(next());
    else if (a === '--json') o.json = next();
    else if (a === '--child') o.child = true;
    else if (a === '--quiet') o.quiet = true;
    else { console.error(`fuzz: unknown argument ${a}`); process.exit(2); }
  }
  if (!(Number.isInteger(o.calls) && o.calls > 0)) { console.error('fuzz: --calls must be a positive integer'); process.exit(2); }
  return o;
}

function errorClass(e) {
  if (!(e instanceof Error)) return 'non-Error thrown';
  if (e.message === 'fuzz getter') return 'user getter threw';
  return e.name || 'Error';
}
// Messages that leak C++ internals or say nothing.
const UNCLEAR = /std::|basic_string|vector::|bad_alloc|napi_|Unknown failure|Invalid argument$|Error in native callback/;

function child(opts) {
  const lib = require('./fuzz-lib');
  const { raw } = lib;
  const eg = require(path.join(lib.root, 'dist'));
  const live = [];
  const T = (...a) => { const h = lib.T(...a); live.push(h); return h; };
  const V = (t, s) => { const h = lib.V(t, s); live.push(h); return h; };
  const D = lib.D;
  const collect = (x, depth = 0) => {
    if (!x || typeof x !== 'object' || depth > 3) return;
    if (x instanceof raw.NativeTensor) { live.push(x); return; }
    for (const y of Object.values(x)) collect(y, depth + 1);
  };
  const next = generator(opts.seed);
  const counts = {}, perFn = {}, unclear = [], violations = [], slow = [];
  const out = (s) => fs.writeSync(1, s + '\n');
  for (let i = 0; i < opts.calls; i++) {
    const c = next();
    out(`#${i} ${c.code}`);
    let cls = 'ok', result, msg = '';
    const t0 = process.hrtime.bigint();
    try {
      result = new Function('raw', 'T', 'D', 'V', 'eg', `return ${c.code};`)(raw, T, D, V, eg);
    } catch (e) {
      cls = errorClass(e);
      msg = e && e.message;
      if (cls === 'non-Error thrown' || (cls !== 'user getter threw' && (!msg || UNCLEAR.test(msg)))) unclear.push(`${cls}: ${msg} <- ${c.code}`);
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (slow.length < 5 || ms > slow[slow.length - 1].ms) { slow.push({ ms: +ms.toFixed(1), code: c.code.slice(0, 300) }); slow.sort((a, b) => b.ms - a.ms); slow.length = Math.min(slow.length, 5); }
    if (cls === 'ok' && c.check) {
      collect(result);
      const bad = contract(c.check, result, c.code);
      if (bad) violations.push(`${bad} <- ${c.code}`);
    } else collect(result);
    counts[cls] = (counts[cls] || 0) + 1;
    const f = (perFn[c.fn] ||= {});
    f[cls] = (f[cls] || 0) + 1;
    for (const h of live) h.dispose();
    live.length = 0;
  }
  const mem = eg.memory();
  out('SUMMARY ' + JSON.stringify({ calls: opts.calls, counts, perFn, unclear: unclear.slice(0, 20), unclearCount: unclear.length,
    violations: violations.slice(0, 20), violationCount: violations.length, slowest: slow, leftTensors: mem.tensors, leftBytes: mem.bytes.cpu }));
}

// ---------------------------------------------------------------- the watcher (parent side)

function parent(opts) {
  const started = Date.now();
  const args = [__filename, '--child', '--calls', String(opts.calls), '--seed', String(opts.seed)];
  // Legal results near the 2^31 - 1 element limit take up to 8 GB; the child refuses tensors over
  // 256 MB instead (a RangeError), so only a real leak or an unchecked size trips --max-rss-mb.
  const env = { ECHOGEN_MAX_TENSOR_MB: '256', ...process.env };
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let last = '', lastAt = Date.now(), buf = '', summary = null, stderr = '', failure = null, peakRssMb = 0;
  proc.stdout.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('#')) { last = line; lastAt = Date.now(); } else if (line.startsWith('SUMMARY ')) summary = JSON.parse(line.slice(8));
    }
  });
  let stderrHead = '', sanitizerReports = 0;
  proc.stderr.on('data', (chunk) => {
    // under ECHOGEN_SANITIZE (LD_PRELOAD=libasan): UBSan reports and goes on, ASan reports and aborts
    sanitizerReports += (String(chunk).match(/runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer/g) || []).length;
    if (stderrHead.length < 4000) stderrHead += chunk;
    stderr = (stderr + chunk).slice(-20000);
  });
  const watch = setInterval(() => {
    let rssMb = 0;
    try { rssMb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8'))[1]) / 1024; } catch { /* exited */ }
    peakRssMb = Math.max(peakRssMb, rssMb);
    if (rssMb > opts.maxRssMb) failure = `memory: RSS ${rssMb.toFixed(0)} MB > ${opts.maxRssMb} MB`;
    else if (Date.now() - lastAt > opts.hangMs) failure = `hang: no progress for ${opts.hangMs} ms`;
    if (failure) { clearInterval(watch); proc.kill('SIGKILL'); }
  }, 100);
  proc.on('exit', (status, signal) => {
    clearInterval(watch);
    const seconds = (Date.now() - started) / 1000;
    const repro = last.replace(/^#\d+ /, '');
    const callNo = (/^#(\d+)/.exec(last) || [])[1];
    if (!failure && (signal || status !== 0 || !summary)) failure = `crash: ${signal ? 'signal ' + signal : 'exit status ' + status}`;
    if (!failure && summary && (summary.unclearCount || summary.violationCount)) failure = `${summary.unclearCount} unclear errors, ${summary.violationCount} contract violations`;
    if (!failure && sanitizerReports) failure = `${sanitizerReports} sanitizer reports`;
    const report = { seed: opts.seed, calls: opts.calls, seconds, peakRssMb: Math.round(peakRssMb), sanitizerReports, failure, ...(summary || {}) };
    if (failure && !summary) report.lastCall = { index: Number(callNo), code: repro };
    if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(report, null, 2) + '\n');
    if (failure) {
      console.log(`FUZZ FAILED (seed ${opts.seed}): ${failure}`);
      if (!summary) {
        console.log(`  at call #${callNo}:\n    ${repro}`);
        console.log(`  reproduce from the package root:\n    node -e "const { raw, T, D, V } = require('./scripts/fuzz-lib'); ${repro.replace(/"/g, '\\"')}"`);
        if (stderr) console.log('  stderr (head):\n' + stderrHead.slice(0, 4000).split('\n').slice(0, 40).map((l) => '    ' + l).join('\n'));
      } else {
        if (sanitizerReports) console.log('  stderr (head):\n' + stderrHead.split('\n').slice(0, 40).map((l) => '    ' + l).join('\n'));
        for (const u of summary.unclear) console.log('  unclear: ' + u);
        for (const u of summary.violations) console.log('  contract: ' + u);
      }
      process.exitCode = 1;
      return;
    }
    if (!opts.quiet) {
      console.log(`fuzz: ${summary.calls} calls (seed ${opts.seed}) in ${seconds.toFixed(1)} s, peak RSS ${Math.round(peakRssMb)} MB: 0 crashes, 0 hangs`);
      console.log('  by outcome: ' + Object.entries(summary.counts).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', '));
      console.log(`  tensors left alive: ${summary.leftTensors}; slowest call ${summary.slowest[0] ? summary.slowest[0].ms + ' ms: ' + summary.slowest[0].code.slice(0, 160) : '-'}`);
    }
  });
}

const opts = parseArgs(process.argv.slice(2));
if (opts.child) child(opts); else parent(opts);
