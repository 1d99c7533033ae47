#!/usr/bin/env node
// Runs the benchmark suites: every bench/suites/*.js, or those named on the command line.
//   node bench/run.js [suite ...] [--quick]
// Each suite prints a table and writes bench/results/cpu-<YYYY-MM-DD>-<suite>.md (-2, -3, ... for a second run that day).
'use strict';
const fs = require('fs');
const path = require('path');
const { createContext, loadPackage, reprobePeak } = require('./lib/context');
const { Report } = require('./lib/report');

const SUITES = path.join(__dirname, 'suites');

function usage() {
  return 'usage: node bench/run.js [suite ...] [--quick]\n  suites: ' +
    fs.readdirSync(SUITES).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)).sort().join(', ');
}

function parseArgs(argv) {
  const names = [];
  let quick = false;
  for (const a of argv) {
    if (a === '--quick') quick = true;
    else if (a === '--help' || a === '-h') { console.log(usage()); process.exit(0); }
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${usage()}`);
    else names.push(a.replace(/\.js$/, ''));
  }
  return { names, quick };
}

function loadSuites(names) {
  const files = fs.readdirSync(SUITES).filter((f) => f.endsWith('.js')).sort();
  const suites = files.map((f) => {
    const suite = require(path.join(SUITES, f));
    if (!suite || typeof suite.name !== 'string' || typeof suite.run !== 'function')
      throw new Error(`bench/suites/${f} must export { name, run(ctx) }`);
    return { file: f.slice(0, -3), suite };
  });
  if (!names.length) return suites.map((s) => s.suite);
  return names.map((n) => {
    const hit = suites.find((s) => s.file === n || s.suite.name === n);
    if (!hit) throw new Error(`no suite named '${n}'\n${usage()}`);
    return hit.suite;
  });
}

async function main() {
  const argv = process.argv.slice(2);
  const { names, quick } = parseArgs(argv);
  const suites = loadSuites(names);
  const eg = loadPackage();
  let failed = 0;
  for (const suite of suites) {
    console.log(`\n== ${suite.name}${quick ? ' (quick)' : ''}`);
    const report = new Report(suite.name, { quick, argv });
    try {
      await suite.run(createContext({ quick, report }));
    } catch (e) {
      failed++;
      console.error(`suite ${suite.name} failed: ${e && e.stack ? e.stack : e}`);
      report.note(`the suite stopped early: ${e && e.message ? e.message : e}`);
    }
    if (!report.rows.length) continue;
    reprobePeak(report, quick);
    console.log('\n' + report.table());
    console.log(`-> ${path.relative(process.cwd(), report.write(eg))}`);
  }
  if (failed) {
    console.error(`\n${failed} suite(s) failed`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e && e.message ? e.message : e);
  process.exitCode = 1;
});
