// `echogen world`: write N scenes of the world: DIR/layouts.jsonl and DIR/images/NNNNN.png.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SPLITS, formatLayout, renderScene, worldScenes, writeLayouts, writePng, visibility } from '../data';
import type { Split } from '../data';
import { progress } from './progress';
import { EXIT_INTERRUPTED, MAX_SEED, UsageError, choiceOption, intOption, requireString } from './verb';
import { StagedDir, catchInterrupts, yieldToEventLoop } from './staging';
import type { Verb } from './verb';

/** File stem of image i of n: zero-padded to 5 digits, or more when n needs them. */
export function imageStem(i: number, n: number): string {
  return String(i).padStart(Math.max(5, String(Math.max(0, n - 1)).length), '0');
}

function probability(v: string | boolean | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const p = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !(p >= 0 && p <= 1)) throw new UsageError(`--${name} must be a number in [0,1], got ${JSON.stringify(String(v))}`);
  return p;
}

/** The most scenes one `world` writes (about 200 bytes of PNG each, plus a layout line). */
export const MAX_WORLD_SCENES = 1_000_000;

export const worldVerb: Verb = {
  name: 'world',
  summary: 'write N scenes of the synthetic world: layouts.jsonl and a PNG per scene',
  required: ['n', 'seed', 'out'],
  options: {
    n: { type: 'string', value: 'N', description: `number of scenes, 1 to ${MAX_WORLD_SCENES}` },
    seed: { type: 'string', value: 'S', description: `the world's seed, 0 to ${MAX_SEED}` },
    out: { type: 'string', value: 'DIR', description: 'output directory: DIR/layouts.jsonl and DIR/images/NNNNN.png, written complete or not at all' },
    split: { type: 'string', value: 'SPLIT', description: `which split of the world: ${SPLITS.join(', ')}`, default: 'train' },
    'texture-prob': { type: 'string', value: 'P', description: 'probability that an object is striped or dotted', default: '0.2' },
    overlay: { type: 'boolean', description: 'also write DIR/overlay/NNNNN.png, 4x upscaled with the boxes drawn' },
    force: { type: 'boolean', description: 'replace an existing non-empty DIR (once the new output is complete)' },
    json: { type: 'boolean', description: 'print one JSON object as the last line of stdout' },
  },
  notes: ['The output is written in a hidden temporary directory next to DIR and renamed when complete, so an interrupted or killed run leaves no partial DIR.'],
  async run(args) {
    for (const r of ['n', 'seed']) if (args.values[r] === undefined) throw new UsageError(`--${r} is required`);
    const n = intOption(args, 'n', 0, { min: 1, max: MAX_WORLD_SCENES });
    const seed = intOption(args, 'seed', 0, { min: 0, max: MAX_SEED });
    const out = requireString(args, 'out');
    const split = choiceOption(args, 'split', SPLITS, 'train' as Split);
    const textureProb = probability(args.values['texture-prob'], 'texture-prob', 0.2);
    const overlay = args.values.overlay === true;

    const stage = new StagedDir(out, args.values.force === true);
    const interrupts = catchInterrupts();
    const images = path.join(stage.tmp, 'images');
    fs.mkdirSync(images);
    if (overlay) fs.mkdirSync(path.join(stage.tmp, 'overlay'));
    const bar = progress('world', n);
    const layouts = [];
    let objects = 0, occluded = 0;
    const buf = new Uint8Array(64 * 64 * 3);
    try {
      const it = worldScenes(split, seed, { textureProb });
      for (let i = 0; i < n; i++) {
        if (i % 64 === 63) {
          await yieldToEventLoop();
          const sig = interrupts.signal();
          if (sig) {
            bar.stop();
            stage.abort();
            console.error(`echogen world: ${sig}: stopped after ${i} of ${n} scenes; nothing written to ${out}`);
            return EXIT_INTERRUPTED;
          }
        }
        const s = it.next().value;
        layouts.push(s.layout);
        objects += s.scene.objects.length;
        occluded += visibility(s.scene.objects).filter((v) => v.visible < v.area).length;
        renderScene(s.scene, buf);
        writePng(path.join(images, `${imageStem(i, n)}.png`), buf);
        if (overlay) writePng(path.join(stage.tmp, 'overlay', `${imageStem(i, n)}.png`), buf, { scale: 4, boxes: s.scene.objects.map((o) => o.box) });
        bar.tick();
      }
      bar.stop();
      writeLayouts(path.join(stage.tmp, 'layouts.jsonl'), layouts);
      stage.commit();
    } catch (e) {
      bar.stop();
      stage.abort();
      throw e;
    } finally {
      interrupts.stop();
    }
    const file = path.join(out, 'layouts.jsonl');
    const summary = { n, seed, split, out, layouts: file, objects, occluded };
    if (args.values.json) console.log(JSON.stringify(summary));
    else {
      console.log(`wrote ${n} scenes (${objects} objects, ${occluded} partly occluded) of the ${split} split, seed ${seed}`);
      console.log(`  ${file}\n  ${path.join(out, 'images')}/${imageStem(0, n)}.png ...`);
      console.log(`  first: ${formatLayout(layouts[0])}`);
    }
    return 0;
  },
};
