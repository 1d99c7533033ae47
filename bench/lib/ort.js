// ctx.ort: onnxruntime-node sessions for the peers, CPU execution provider with one intra-op
// thread per core (the same cores echogen's pool uses), graph optimisations on.
'use strict';
const os = require('os');

let ort = null;
function load() {
  if (!ort) ort = require('onnxruntime-node');
  return ort;
}

/** An InferenceSession over model bytes (from ctx.onnx.model). */
async function session(bytes, options = {}) {
  const { InferenceSession } = load();
  return InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: os.cpus().length,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    ...options,
  });
}

module.exports = {
  session,
  get Tensor() { return load().Tensor; },
};
