// The ctx a suite's run(ctx) receives: the package, benchmark.js timing, result rows, the ONNX
// and onnxruntime helpers, and this CPU's measured FMA peak (see bench/README.md).
'use strict';
const path = require('path');
const Benchmark = require('benchmark');
const onnx = require('./onnx');
const ort = require('./ort');

const DIST = path.join(__dirname, '..', '..', 'dist');
let fmaPeak = null;  // measured once per process, shared by every suite

function loadPackage() {
  try {
    return require(DIST);
  } catch (e) {
    throw new Error(`bench: cannot load echogen from ${DIST} (${e.message}); build it first with \`npm run build\``);
  }
}

/**
 * The theoretical fp32 FMA peak: cores x GHz x 2 FMA pipes x 8 lanes x 2 flops. The clock is the
 * "cpu MHz" of /proc/cpuinfo (in a VM: the nominal/TSC clock the hypervisor reports, not the boost
 * clock), else os.cpus()[0].speed; `clockSource` says which.
 */
function theoreticalPeak() {
  const cores = require('os').cpus().length;
  let mhz = null, clockSource = 'os.cpus()[0].speed';
  try {
    const m = /cpu MHz\s*:\s*([\d.]+)/.exec(require('fs').readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) { mhz = Number(m[1]); clockSource = '/proc/cpuinfo "cpu MHz"'; }
  } catch { /* not Linux */ }
  if (!mhz) mhz = require('os').cpus()[0].speed;
  return { gflops: cores * (mhz / 1e3) * 2 * 8 * 2, cores, mhz, clockSource };
}

/**
 * Measures the fp32 FMA peak of all cores with the addon's fmaPeakDetail(seconds): 12 independent 8-wide FMA
 * chains on every pool thread at once, three runs a probe. The figure used for "% of peak" is the CPU-time rate
 * (GFLOP/s per second of CPU time each thread was given, times the threads), which another process taking turns on
 * the cores does not lower; the wall-clock rate is kept beside it. Another tenant's vector code on a core's SMT
 * sibling does lower it (a probe on 2026-12-02 read 98.5 GFLOP/s where others read 184), so a peak is the best of
 * several probes: one when a suite first asks (`when` 'start') and one after the suite (`reprobePeak`, 'end').
 */
function probePeak(quick, when) {
  const native = require(path.join(DIST, 'native')).addon;
  const seconds = quick ? 0.2 : 0.5;
  let probe;
  if (typeof native.fmaPeakDetail === 'function') {
    const runs = [0, 1, 2].map(() => native.fmaPeakDetail(seconds));
    const best = (k) => Math.max(...runs.map((r) => r[k]));
    probe = { when, gflops: best('cpuGflops'), wallGflops: best('wallGflops'), threads: runs[0].threads, threadsRan: Math.min(...runs.map((r) => r.threadsRan)) };
  } else {
    if (typeof native.fmaPeak !== 'function') throw new Error('bench: the addon has no fmaPeak(); rebuild with `npm run build`');
    const v = Math.max(native.fmaPeak(seconds), native.fmaPeak(seconds), native.fmaPeak(seconds));
    probe = { when, gflops: v, wallGflops: v };
  }
  probe.load = require('os').loadavg()[0];
  const probes = [...(fmaPeak ? fmaPeak.probes : []), probe];
  const top = probes.reduce((a, b) => (b.gflops > a.gflops ? b : a));
  fmaPeak = { ...top, probes, theoretical: theoreticalPeak() };
}

function fmaPeakGflops(quick) {
  if (fmaPeak === null) probePeak(quick, 'start');
  return fmaPeak.gflops;
}

/** Times fn with benchmark.js; resolves to { ms, rme, samples } (ms = mean time per call). */
function time(name, fn, opts, quick) {
  if (typeof name !== 'string') throw new TypeError('ctx.time: name must be a string');
  if (typeof fn !== 'function') throw new TypeError(`ctx.time(${name}): fn must be a function`);
  const o = opts || {};
  const settings = { maxTime: o.maxTime ?? (quick ? 0.25 : 1), minSamples: o.minSamples ?? (quick ? 3 : 5), initCount: 1 };
  let asyncError = null;  // a rejected promise ends the timing and fails the call
  const bench = o.async
    ? new Benchmark(name, { ...settings, defer: true, fn: (d) => Promise.resolve(fn()).then(() => d.resolve(), (e) => { asyncError = asyncError || e; d.benchmark.abort(); d.resolve(); }) })
    : new Benchmark(name, fn, settings);
  return new Promise((resolve, reject) => {
    bench.on('complete', function () {
      if (asyncError) return reject(Object.assign(new Error(`ctx.time(${name}): ${asyncError.message || asyncError}`), { cause: asyncError }));
      if (this.error) return reject(Object.assign(new Error(`ctx.time(${name}): ${this.error.message || this.error}`), { cause: this.error }));
      const result = { ms: this.stats.mean * 1e3, rme: this.stats.rme, samples: this.stats.sample.length };
      console.log(`  ${name.padEnd(48)} ${result.ms.toPrecision(4).padStart(10)} ms ±${result.rme.toFixed(1)}% (${result.samples} samples)`);
      resolve(result);
    });
    bench.run({ async: true });
  });
}

function createContext({ quick, report }) {
  const eg = loadPackage();
  return {
    eg,
    quick,
    onnx,
    ort,
    time: (name, fn, opts) => time(name, fn, opts, quick),
    /** One row per (case, impl): { case, impl, ms, flops?, bytes?, rme?, samples? }. */
    record: (row) => report.add(row),
    /** Replaces the results file's default timing line (benchmark.js mean) for a suite that times its own way. */
    setTiming: (text) => { report.timing = text; },
    /** A line of prose for the results file (e.g. why a peer wins a case). */
    note: (text) => report.note(text),
    fmaPeakGflops: () => {
      const v = fmaPeakGflops(quick);
      report.fmaPeak = v;
      report.fmaPeakInfo = fmaPeak;
      return v;
    },
  };
}

/** After a suite that used the peak: probe again and give its report the best probe so far (run.js). */
function reprobePeak(report, quick) {
  if (report.fmaPeak === null) return;
  probePeak(quick, 'end');
  report.fmaPeak = fmaPeak.gflops;
  report.fmaPeakInfo = fmaPeak;
}

module.exports = { createContext, loadPackage, theoreticalPeak, reprobePeak };
