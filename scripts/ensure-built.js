// Builds the addon (cmake-js) and, in a source checkout, dist/ (tsc) if either is missing. Used by
// index.js and bin/ when the install script did not run (npm 11 skips a dependency's install
// script unless it is approved with --allow-scripts).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', process.stderr, process.stderr] });
  if (r.status !== 0) throw new Error(`echogen: \`${cmd} ${args.join(' ')}\` failed (exit ${r.status}); see the output above`);
}

function resolveBin(name) {
  try {
    return require.resolve(name, { paths: [root] });
  } catch {
    return null;
  }
}

function ensureBuilt() {
  // ECHOGEN_ADDON names another build to load (lib/native.ts): then build/ is not needed.
  const addon = process.env.ECHOGEN_ADDON ? path.resolve(process.env.ECHOGEN_ADDON) : path.join(root, 'build', 'Release', 'echogen.node');
  const dist = path.join(root, 'dist', 'index.js');
  if (process.env.ECHOGEN_ADDON && !fs.existsSync(addon)) throw new Error(`echogen: ECHOGEN_ADDON names ${addon}, which does not exist`);
  if (fs.existsSync(addon) && fs.existsSync(dist)) return;
  process.stderr.write('echogen: first use - building the native addon' + (fs.existsSync(dist) ? '' : ' and dist/') +
    ' (install scripts did not run; minutes when nvcc is found, since the CUDA kernels are compiled too)...\n');
  if (!fs.existsSync(addon)) {
    const cmakeJs = resolveBin('cmake-js/bin/cmake-js');
    if (!cmakeJs) throw new Error('echogen: the native addon is not built and cmake-js is not installed; run `npm install` in ' + root);
    const source = fs.existsSync(path.join(root, 'test'));
    const cudaOff = process.env.ECHOGEN_WITH_CUDA === '0' || process.env.ECHOGEN_WITH_CUDA === 'OFF';
    run(process.execPath, [cmakeJs, 'compile', '--log-level', 'warn', '--out', 'build', ...(source ? [] : ['--target', 'echogen', '--CDECHOGEN_BUILD_TESTS=OFF']), ...(cudaOff ? ['--CDECHOGEN_WITH_CUDA=OFF'] : [])]);
  }
  if (!fs.existsSync(dist)) {
    const tsc = resolveBin('typescript/bin/tsc');
    if (!tsc) throw new Error(`echogen: ${dist} is missing and TypeScript (a dev dependency) is not installed; run \`npm ci\` in the source checkout or install a packed tarball, which ships dist/`);
    run(process.execPath, [tsc, '-p', 'tsconfig.json']);
  }
}

module.exports = { ensureBuilt };
