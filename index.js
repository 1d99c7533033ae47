// Package entry. npm 11 skips a dependency's install script unless the consumer approves it
// (`npm install --allow-scripts=echogen`); if the native addon or dist/ is missing we build
// them here once, saying so on stderr, instead of failing with a bare "module not found".
'use strict';
require('./scripts/ensure-built').ensureBuilt();
module.exports = require('./dist/index.js');
