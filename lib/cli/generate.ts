// `echogen generate`: one image per layout line, DIR/NNNNN.png, plus DIR/NNNNN-boxes.png with the
// layout's boxes drawn (upscaled so the outlines are visible).
import * as fs from 'fs';
import * as path from 'path';
import { tidy } from '../tensor';
import { writePng } from '../data';
import { readModelLayouts } from './layouts';
import type { Layout } from '../model';
import { EchoGen } from '../model';
import { MAX_SEED, Verb, intOption, numberOption, requireString } from './verb';
import { DEVICE_OPTION, deviceOption, loadModel } from './shipped';
import { progress } from './progress';
import { tensorToRgb } from './images';

export const BOX_SCALE = 4;
export const MAX_GENERATE_BATCH = 256;

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
  required: ['layouts', 'out'],
  options: {
    checkpoint: { type: 'string', value: 'DIR', description: 'model or training output directory', default: 'the shipped model (models/small)' },
    device: DEVICE_OPTION,
    layouts: { type: 'string', value: 'FILE', description: 'layout file (JSON Lines): one image per line' },
    out: { type: 'string', value: 'DIR', description: 'output directory: NNNNN.png and NNNNN-boxes.png (4x, layout boxes drawn)' },
    seed: { type: 'string', value: 'S', description: 'sampling seed', default: '0' },
    temperature: { type: 'string', value: 'T', description: 'sampling temperature, 0 (greedy) to 10', default: '1' },
    batch: { type: 'string', value: 'N', description: `layouts decoded together, 1 to ${MAX_GENERATE_BATCH}`, default: '8' },
    json: { type: 'boolean', description: 'print one JSON object as the last line of stdout' },
  },
  async run(args) {
    const device = deviceOption(args);
    const file = requireString(args, 'layouts');
    const out = requireString(args, 'out');
    const seed = intOption(args, 'seed', 0, { min: 0, max: MAX_SEED });
    const batch = intOption(args, 'batch', 8, { min: 1, max: MAX_GENERATE_BATCH });
    const temperature = numberOption(args, 'temperature', 1, { min: 0, max: 10 });
    const model = loadModel(args.values.checkpoint as string | undefined, device);
    try {
      const layouts = readModelLayouts(file, model);
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
    } finally {
      model.dispose();
    }
    return 0;
  },
};
