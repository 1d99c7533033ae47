// Tensor plumbing: eg.tensor (copy into native memory) + dispose, and toArray (copy out), against
// the floor of the same copy in plain JS (a Float32Array copy). Measures the Node-API overhead.
'use strict';

module.exports = {
  name: 'tensor',
  async run(ctx) {
    const { eg } = ctx;
    const sizes = ctx.quick ? [1e3, 1e6] : [1e2, 1e4, 1e6, 4e6];
    for (const n of sizes) {
      const src = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
      const bytes = 4 * n;  // bytes copied per call
      let sink = 0;

      const label = `create+dispose n=${n}`;
      const mine = await ctx.time(`tensor ${label}`, () => { eg.tensor(src, [n]).dispose(); });
      ctx.record({ case: label, impl: 'echogen', ms: mine.ms, bytes, rme: mine.rme, samples: mine.samples });
      const plain = await ctx.time(`plain ${label}`, () => { sink += new Float32Array(src)[0]; });
      ctx.record({ case: label, impl: 'Float32Array copy', ms: plain.ms, bytes, rme: plain.rme, samples: plain.samples });

      const t = eg.tensor(src, [n]);
      const read = `toArray n=${n}`;
      const out = await ctx.time(`tensor ${read}`, () => { sink += t.toArray()[0]; });
      ctx.record({ case: read, impl: 'echogen', ms: out.ms, bytes, rme: out.rme, samples: out.samples });
      const slice = await ctx.time(`plain ${read}`, () => { sink += src.slice()[0]; });
      ctx.record({ case: read, impl: 'Float32Array copy', ms: slice.ms, bytes, rme: slice.rme, samples: slice.samples });
      t.dispose();
      if (Number.isNaN(sink)) throw new Error('unreachable: keeps the copies observable');
    }
    ctx.note('Float32Array copy is the floor: the same bytes copied by V8 with no native call and no allocation bookkeeping.');
  },
};
