#!/usr/bin/env node
// Runs native/test (built by cmake-js next to the addon): CPU kernels against references and,
// with a GPU, every CUDA kernel against its CPU twin. No GPU: the CUDA part says "skipped".
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const exe = path.join(__dirname, '..', 'build', 'bin', 'echogen_native_test');
if (!fs.existsSync(exe)) {
  console.error(`native test program not found at ${exe}; run \`npm run build:native\` first`);
  process.exit(1);
}
const r = spawnSync(exe, process.argv.slice(2), { stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
