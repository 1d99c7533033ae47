// Builds the addon (cmake-js) and dist/ (tsc) if either is missing. Used by index.js and bin/.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', process.stderr, process.stderr] });
  if (r.status !== 0) throw new Error(`echogen: \`${cmd} ${args.join(' ')}\` failed (exit ${r.status}); see the output above`);
}

function ensureBuilt() {
  const addon = path.join(root, 'build', 'Release', 'echogen.node');
  const dist = path.join(root, 'dist', 'index.js');
  if (fs.existsSync(addon) && fs.existsSync(dist)) return;
  process.stderr.write('echogen: first use - building the native addon and dist/ (install scripts did not run)...\n');
  const bin = (name) => require.resolve(name === 'tsc' ? 'typescript/bin/tsc' : 'cmake-js/bin/cmake-js', { paths: [root] });
  if (!fs.existsSync(addon)) run(process.execPath, [bin('cmake-js'), 'compile', '--out', 'build']);
  if (!fs.existsSync(dist)) run(process.execPath, [bin('tsc'), '-p', 'tsconfig.json']);
}

module.exports = { ensureBuilt };
