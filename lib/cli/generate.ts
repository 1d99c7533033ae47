// `echogen generate`: one image per layout line, DIR/NNNNN.png, plus DIR/NNNNN-boxes.png with the
// layout's boxes drawn (upscaled so the outlines are visible).
import * as fs from 'fs';
import * as path from 'path';
import { tidy } from '../tensor';
import { readLayouts, writePng } from '../data';
import type { Layout } from '../model';
import { EchoGen } from '../model';
import { Verb, intOption, requireString } from './verb';
import { loadModel } from './shipped';
import { progress } from './progress';
import { tensorToRgb } from './images';

export const BOX_SCALE = 4;

/** Generates images for `layouts` in batches; calls `each(index, rgb)` per image. */
export function generateAll(model: EchoGen, layouts: readonly Layout[], seed: number, batch: number, each: (i: number, rgb: Uint8Array) => void, temperature = 1): void {
  for (let start = 0; start < layouts.length; start += batch) {
    const part = layouts.slice(start, start + batch);
    // Each batch draws from its own noise stream (seed + first index), so a run is reproducible.
    const rgbs = tidy(() => tensorToRgb(model.generate(part, { seed: seed + start, temperature }).images));
    rgbs.forEach((rgb, j) => each(start + j, rgb));
  }
}

export const generateVerb: Verb = {
  name: 'generate',
  summary: 'draw an image for every layout of a layout file (PNG files)',
  usage: 'echogen generate [--checkpoint DIR] --layouts FILE --out DIR [--seed S] [--temperature T] [--batch N] [--json]',
  options: {
    checkpoint: { type: 'string' },
    layouts: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
    temperature: { type: 'string' },
    batch: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args) {
    const file = requireString(args, 'layouts');
    const out = requireString(args, 'out');
    const seed = intOption(args, 'seed', 0);
    const batch = intOption(args, 'batch', 8, 1);
    const temperature = args.values.temperature === undefined ? 1 : Number(args.values.temperature);
    if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new Error(`--temperature must be a number >= 0, got ${String(args.values.temperature)}`);
    const layouts = readLayouts(file) as Layout[];
    if (layouts.length === 0) throw new Error(`${file}: no layouts in the file`);
    const model = loadModel(args.values.checkpoint as string | undefined);
    fs.mkdirSync(out, { recursive: true });
    const bar = progress('generate', layouts.length);
    const files: string[] = [];
    const t0 = Date.now();
    generateAll(model, layouts, seed, batch, (i, rgb) => {
      const name = path.join(out, `${String(i).padStart(5, '0')}.png`);
      writePng(name, rgb);
      writePng(path.join(out, `${String(i).padStart(5, '0')}-boxes.png`), rgb, { scale: BOX_SCALE, boxes: layouts[i].objects.map((o) => [o.box[0], o.box[1], o.box[2], o.box[3]]) });
      files.push(name);
      bar.tick(1);
    }, temperature);
    bar.stop();
    const seconds = (Date.now() - t0) / 1000;
    if (args.values.json) console.log(JSON.stringify({ out, images: files.length, seconds }));
    else console.log(`wrote ${files.length} images (and -boxes copies) to ${out} in ${seconds.toFixed(1)} s`);
    model.dispose();
    return 0;
  },
};
