#!/usr/bin/env node
// `npm pack` / `npm publish`: compiles lib/ to a fresh dist/, which the tarball ships so that a
// consumer's install only builds the native addon (TypeScript is a dev dependency).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
