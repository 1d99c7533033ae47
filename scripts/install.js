#!/usr/bin/env node
// The install script: builds the native addon with cmake-js (the CUDA kernels too when nvcc is
// found, which is most of the time). In a source checkout (the repository's test/ is here) it
// also builds native/test and the GPU benchmark and compiles lib/ to dist/; an installed tarball
// ships dist/ and builds only the addon target, with ECHOGEN_BUILD_TESTS=OFF.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');
const resolve = (p) => require.resolve(p, { paths: [root] });
const source = fs.existsSync(path.join(root, 'test')) && fs.existsSync(path.join(root, 'tsconfig.json'));

function run(script, args) {
  const r = spawnSync(process.execPath, [resolve(script), ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status === null ? 1 : r.status);
}

// ECHOGEN_WITH_CUDA=0 skips the CUDA backend (a CPU-only addon, built in about a minute).
const cudaOff = process.env.ECHOGEN_WITH_CUDA === '0' || process.env.ECHOGEN_WITH_CUDA === 'OFF';
const cudaArgs = cudaOff ? ['--CDECHOGEN_WITH_CUDA=OFF'] : [];

function hasNvcc() {
  if (cudaOff) return false;
  const dirs = (process.env.PATH || '').split(path.delimiter);
  return dirs.some((d) => d && fs.existsSync(path.join(d, 'nvcc')));
}

const t0 = Date.now();
process.stderr.write(`echogen: building the native addon with cmake-js${hasNvcc() ? ' (nvcc found: the CUDA kernels too, several minutes on 2 cores)' : ' (CPU kernels only, about a minute)'}...\n`);
if (source) {
  run('cmake-js/bin/cmake-js', ['compile', '--log-level', 'warn', '--out', 'build', ...cudaArgs]);
  run('typescript/bin/tsc', ['-p', 'tsconfig.json']);
} else {
  if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) {
    console.error('echogen: dist/ is missing from this package (the tarball must be made with `npm pack`, whose prepack script compiles it)');
    process.exit(1);
  }
  run('cmake-js/bin/cmake-js', ['compile', '--log-level', 'warn', '--out', 'build', '--target', 'echogen', '--CDECHOGEN_BUILD_TESTS=OFF', ...cudaArgs]);
}
process.stderr.write(`echogen: built in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
