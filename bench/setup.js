#!/usr/bin/env node
// Installs the benchmark peers (bench/package.json) into bench/node_modules, once: `npm run bench`
// runs this first. They live apart from the package's own dependencies so that `npm ci` at the
// root downloads nothing at install time (onnxruntime-node's postinstall fetches CUDA libraries).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const dir = __dirname;
const stamp = path.join(dir, 'node_modules', '.echogen-bench-installed');

function installed() {
  if (!fs.existsSync(stamp)) return false;
  const lock = path.join(dir, 'package-lock.json');
  const want = fs.readFileSync(fs.existsSync(lock) ? lock : path.join(dir, 'package.json'), 'utf8');
  return fs.readFileSync(stamp, 'utf8') === want;
}

function setup() {
  if (installed()) return;
  const hasLock = fs.existsSync(path.join(dir, 'package-lock.json'));
  console.error(`bench: installing the benchmark peers into ${path.join(dir, 'node_modules')} (npm ${hasLock ? 'ci' : 'install'})...`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL_CUDA: process.env.ONNXRUNTIME_NODE_INSTALL_CUDA || 'skip' };
  const r = spawnSync(npm, [hasLock ? 'ci' : 'install', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`bench: \`npm ${hasLock ? 'ci' : 'install'}\` in ${dir} failed (exit ${r.status}); the benchmarks need onnxruntime-node, tfjs and benchmark.js`);
    process.exit(r.status === null ? 1 : r.status);
  }
  const lock = path.join(dir, 'package-lock.json');
  fs.writeFileSync(stamp, fs.readFileSync(fs.existsSync(lock) ? lock : path.join(dir, 'package.json'), 'utf8'));
}

if (require.main === module) setup();
module.exports = { setup };
