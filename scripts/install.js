#!/usr/bin/env node
// The install script: builds the native addon (cmake-js; CUDA too when nvcc is found) and, in a
// source checkout, compiles lib/ to dist/. A packed tarball ships dist/ already, so there only the
// addon is built.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');
const resolve = (p) => require.resolve(p, { paths: [root] });

function run(script, args) {
  const r = spawnSync(process.execPath, [resolve(script), ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status === null ? 1 : r.status);
}

run('cmake-js/bin/cmake-js', ['compile', '--out', 'build']);
if (fs.existsSync(path.join(root, 'tsconfig.json')) && fs.existsSync(path.join(root, 'lib'))) {
  run('typescript/bin/tsc', ['-p', 'tsconfig.json']);
} else if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) {
  console.error('echogen: dist/ is missing and there is no lib/ to compile it from');
  process.exit(1);
}
