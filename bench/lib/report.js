// Collects a suite's rows, prints them as a table and writes bench/results/cpu-<date>-<suite>.md
// (atomically: a temp file renamed into place) with the date, the machine and every figure.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const RESULTS = path.join(__dirname, '..', 'results');

function cpuModel() {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch { /* not Linux */ }
  return os.cpus()[0] ? os.cpus()[0].model : 'unknown CPU';
}

/** The machine as the results file describes it. */
function machine(eg) {
  let build = {};
  try { build = eg.buildInfo(); } catch (e) { build = { error: e.message }; }
  return { cpu: cpuModel(), cores: os.cpus().length, os: `${os.type()} ${os.release()} ${os.arch()}`, node: process.version, build };
}

function localDate(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

const fmt = (x, digits = 3) => (x === undefined || x === null || !Number.isFinite(x) ? '' : x >= 1000 ? x.toFixed(0) : x.toPrecision(digits));

class Report {
  constructor(suite, { quick = false, argv = [] } = {}) {
    this.suite = suite;
    this.quick = quick;
    this.argv = argv;
    this.rows = [];
    this.notes = [];
    this.fmaPeak = null;
    this.started = new Date();
    this.load = os.loadavg()[0];  // other processes on the machine skew every figure; say how busy it was
  }

  add(row) {
    if (!row || typeof row.case !== 'string' || typeof row.impl !== 'string')
      throw new TypeError('ctx.record: a row needs string fields case and impl');
    if (typeof row.ms !== 'number' || !(row.ms > 0)) throw new TypeError(`ctx.record(${row.case} / ${row.impl}): ms must be a positive number, got ${row.ms}`);
    for (const k of ['flops', 'bytes', 'rme', 'samples', 'cpuMs'])
      if (row[k] !== undefined && typeof row[k] !== 'number') throw new TypeError(`ctx.record(${row.case} / ${row.impl}): ${k} must be a number`);
    if (row.note !== undefined && typeof row.note !== 'string') throw new TypeError(`ctx.record(${row.case} / ${row.impl}): note must be a string`);
    this.rows.push({ ...row });
  }

  note(text) { this.notes.push(String(text)); }

  /** The rows with derived columns: GFLOP/s, GB/s, % of FMA peak, peer ms / echogen ms. */
  derived() {
    return this.rows.map((r) => {
      const mine = this.rows.find((x) => x.case === r.case && x.impl === 'echogen');
      const gflops = r.flops ? r.flops / (r.ms * 1e-3) / 1e9 : undefined;
      return {
        ...r,
        gflops,
        gbs: r.bytes ? r.bytes / (r.ms * 1e-3) / 1e9 : undefined,
        peak: gflops !== undefined && this.fmaPeak ? (100 * gflops) / this.fmaPeak : undefined,
        // cpuMs: CPU time a call / the threads, what the wall time would be on a machine nobody else uses
        peakCpu: r.flops && r.cpuMs && this.fmaPeak ? (100 * r.flops) / (r.cpuMs * 1e-3) / 1e9 / this.fmaPeak : undefined,
        ratio: mine ? r.ms / mine.ms : undefined,
      };
    });
  }

  columns() {
    const rows = this.derived();
    const cols = [
      ['case', (r) => r.case], ['impl', (r) => r.impl], ['ms', (r) => fmt(r.ms, 4)],
      ['±%', (r) => (r.rme === undefined ? '' : r.rme.toFixed(1))],
    ];
    if (rows.some((r) => r.gflops !== undefined)) cols.push(['GFLOP/s', (r) => fmt(r.gflops)]);
    if (rows.some((r) => r.gbs !== undefined)) cols.push(['GB/s', (r) => fmt(r.gbs)]);
    if (rows.some((r) => r.peak !== undefined)) cols.push(['% FMA peak', (r) => (r.peak === undefined ? '' : r.peak.toFixed(1))]);
    if (rows.some((r) => r.peakCpu !== undefined)) cols.push(['% peak, CPU time / threads', (r) => (r.peakCpu === undefined ? '' : r.peakCpu.toFixed(1))]);
    cols.push(['vs echogen', (r) => (r.ratio === undefined ? '' : r.impl === 'echogen' ? '1' : `${r.ratio.toFixed(2)}x`)]);
    if (rows.some((r) => r.note)) cols.push(['note', (r) => r.note || '']);
    return { rows, cols };
  }

  /** The plain-text table for stdout. */
  table() {
    const { rows, cols } = this.columns();
    const cells = [cols.map((c) => c[0]), ...rows.map((r) => cols.map((c) => String(c[1](r))))];
    const widths = cols.map((_, k) => Math.max(...cells.map((line) => line[k].length)));
    const left = (k) => k < 2 || cols[k][0] === 'note';
    return cells.map((line) => line.map((s, k) => (left(k) ? s.padEnd(widths[k]) : s.padStart(widths[k]))).join('  ').trimEnd()).join('\n');
  }

  markdown(eg) {
    const m = machine(eg);
    const b = m.build;
    const { rows, cols } = this.columns();
    const lines = [
      `# Benchmark: ${this.suite} (CPU)`,
      '',
      `- date: ${this.started.toISOString()}`,
      `- machine: ${m.cpu}, ${m.cores} cores, ${m.os}; load average ${this.load.toFixed(1)} when the suite started`,
      `- node: ${m.node}`,
      `- echogen build: ${JSON.stringify(b)}`,
    ];
    if (this.fmaPeak) {
      const i = this.fmaPeakInfo;
      lines.push(`- fp32 FMA peak, measured by this run (all cores): ${this.fmaPeak.toFixed(1)} GFLOP/s` + (i && i.theoretical
        ? ` per CPU-second given to the ${i.threads || '?'} threads (wall-clock rate under this load: ${i.wallGflops.toFixed(1)}, load ${i.load.toFixed(1)}); ` +
          `theoretical ${i.theoretical.gflops.toFixed(1)} GFLOP/s = ${i.theoretical.cores} cores x ${(i.theoretical.mhz / 1e3).toFixed(2)} GHz (${i.theoretical.clockSource}) x 2 FMA pipes x 8 lanes x 2; "% FMA peak" uses the measured figure`
        : '') + (i && i.probes && i.probes.length > 1
        ? `; the best of ${i.probes.length} probes (${i.probes.map((p) => `${p.when} ${p.gflops.toFixed(1)}`).join(', ')}): an SMT sibling's vector work lowers a probe, so a peak is the best one seen`
        : ''));
    }
    lines.push(`- mode: ${this.quick ? 'quick (--quick: fewer sizes, shorter timing)' : 'full'}; command: \`${['node bench/run.js', ...this.argv].join(' ')}\``);
    lines.push(this.timing ? `- timing: ${this.timing};` : '- timing: benchmark.js, mean time per call (ms) and its relative margin of error (±%);',
      '  "vs echogen" = this row\'s time / the echogen row\'s time for the same case (above 1x: echogen is faster)', '');
    lines.push(`| ${cols.map((c) => c[0]).join(' | ')} |`, `|${cols.map((c, k) => (k < 2 || c[0] === 'note' ? ' --- ' : ' ---: ')).join('|')}|`);
    for (const r of rows) lines.push(`| ${cols.map((c) => String(c[1](r)).replace(/\|/g, '\\|')).join(' | ')} |`);
    if (this.notes.length) lines.push('', ...this.notes.map((n) => `- ${n}`));
    return lines.join('\n') + '\n';
  }

  /** Writes the results file; returns its path. */
  write(eg, dir = RESULTS) {
    fs.mkdirSync(dir, { recursive: true });
    // BENCH_RESULT_TAG=x: cpu-<date>-<suite>-x.md (a suite run in parts, with pauses between them on a shared machine)
    const tag = process.env.BENCH_RESULT_TAG ? `-${process.env.BENCH_RESULT_TAG.replace(/[^\w.-]/g, '')}` : '';
    const base = path.join(dir, `cpu-${localDate(this.started)}-${this.suite}${tag}`);
    // a second run on the same day (and tag) gets -2, -3, ...: an earlier result is never overwritten
    let file = `${base}.md`;
    for (let n = 2; fs.existsSync(file); n++) file = `${base}-${n}.md`;
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, this.markdown(eg));
    fs.renameSync(tmp, file);
    return file;
  }
}

module.exports = { Report, machine, cpuModel };
