// `echogen world`: write N scenes of the world: DIR/layouts.jsonl and DIR/images/NNNNN.png.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SPLITS, formatLayout, renderScene, worldScenes, writeLayouts, writePng, visibility } from '../data';
import type { Split } from '../data';
import { progress } from './progress';
import { UsageError, intOption, requireString } from './verb';
import type { Verb } from './verb';

/** File stem of image i of n: zero-padded to 5 digits, or more when n needs them. */
export function imageStem(i: number, n: number): string {
  return String(i).padStart(Math.max(5, String(Math.max(0, n - 1)).length), '0');
}

function probability(v: string | boolean | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const p = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !(p >= 0 && p <= 1)) throw new UsageError(`--${name} must be a number in [0,1], got ${String(v)}`);
  return p;
}

export const worldVerb: Verb = {
  name: 'world',
  summary: 'write N scenes of the synthetic world: layouts.jsonl and a PNG per scene',
  usage: 'echogen world --n N --seed S --out DIR [--split train|val|test] [--texture-prob P] [--overlay] [--json]',
  options: {
    n: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    split: { type: 'string' },
    'texture-prob': { type: 'string' },
    overlay: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run(args) {
    const n = intOption(args, 'n', -1, 1);
    if (n < 0) throw new UsageError('--n is required');
    if (args.values.seed === undefined) throw new UsageError('--seed is required');
    const seed = intOption(args, 'seed', 0, 0);
    const out = requireString(args, 'out');
    const split = (args.values.split ?? 'train') as Split;
    if (!SPLITS.includes(split)) throw new UsageError(`--split must be one of ${SPLITS.join(', ')}, got ${String(split)}`);
    const textureProb = probability(args.values['texture-prob'], 'texture-prob', 0.2);
    const overlay = args.values.overlay === true;

    const images = path.join(out, 'images');
    fs.mkdirSync(images, { recursive: true });
    if (overlay) fs.mkdirSync(path.join(out, 'overlay'), { recursive: true });
    const bar = progress('world', n);
    const layouts = [];
    let objects = 0, occluded = 0;
    const buf = new Uint8Array(64 * 64 * 3);
    try {
      const it = worldScenes(split, seed, { textureProb });
      for (let i = 0; i < n; i++) {
        const s = it.next().value;
        layouts.push(s.layout);
        objects += s.scene.objects.length;
        occluded += visibility(s.scene.objects).filter((v) => v.visible < v.area).length;
        renderScene(s.scene, buf);
        writePng(path.join(images, `${imageStem(i, n)}.png`), buf);
        if (overlay) writePng(path.join(out, 'overlay', `${imageStem(i, n)}.png`), buf, { scale: 4, boxes: s.scene.objects.map((o) => o.box) });
        bar.tick();
      }
    } finally {
      bar.stop();
    }
    // The layout file last: its presence means the images are all there.
    const file = path.join(out, 'layouts.jsonl');
    writeLayouts(file, layouts);
    const summary = { n, seed, split, out, layouts: file, objects, occluded };
    if (args.values.json) console.log(JSON.stringify(summary));
    else {
      console.log(`wrote ${n} scenes (${objects} objects, ${occluded} partly occluded) of the ${split} split, seed ${seed}`);
      console.log(`  ${file}\n  ${images}/${imageStem(0, n)}.png ...`);
      if (n > 0) console.log(`  first: ${formatLayout(layouts[0])}`);
    }
    return 0;
  },
};
