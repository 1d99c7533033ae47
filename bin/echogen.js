#!/usr/bin/env node
'use strict';
require('../scripts/ensure-built').ensureBuilt();
require('../dist/cli/main.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`echogen: ${err && err.message ? err.message : err}`); process.exitCode = 1; },
);
