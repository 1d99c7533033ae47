// `echogen ground`: the box of an expression in a 64x64 PNG.
import * as fs from 'fs';
import { tidy } from '../tensor';
import { normalizeExpression, readPng, tokenize } from '../data';
import { InputError, Verb, VerbArgs, intOption, requireString } from './verb';
import type { OptionTable } from './verb';
import type { GroundOptions } from '../model';
import { DEVICE_OPTION, deviceOption, loadModel } from './shipped';
import { rgbToTensor } from './images';

/** `--samples N`: the grounding search of EchoGen.ground (docs/training.md), shared by `ground` and `eval ground`. */
export const SAMPLES_OPTION: OptionTable[string] = {
  type: 'string', value: 'N', default: '0 (the greedy box)',
  description: 'draw N boxes besides the greedy one and keep the one the model scores best in both directions (slower, ~N+1 times)',
};

export function groundOptions(args: VerbArgs): GroundOptions {
  return { samples: intOption(args, 'samples', 0, { min: 0, max: 256 }) };
}

export const groundVerb: Verb = {
  name: 'ground',
  summary: 'find the box of an expression in an image',
  required: ['image', 'expr'],
  options: {
    checkpoint: { type: 'string', value: 'DIR', description: 'model or training output directory', default: 'the shipped model (models/small)' },
    device: DEVICE_OPTION,
    image: { type: 'string', value: 'FILE.png', description: 'a 64x64 RGB PNG' },
    expr: { type: 'string', value: 'TEXT', description: 'the expression, e.g. "the red circle." (case and punctuation are normalised)' },
    samples: SAMPLES_OPTION,
    json: { type: 'boolean', description: 'print one JSON object as the last line of stdout' },
  },
  async run(args) {
    const device = deviceOption(args);
    const search = groundOptions(args);
    const file = requireString(args, 'image');
    const raw = requireString(args, 'expr');
    let expr: string;
    try {
      expr = normalizeExpression(raw);
      tokenize(expr);
    } catch (e) {
      throw new InputError(`--expr: ${(e as Error).message}`);
    }
    if (!fs.existsSync(file)) throw new InputError('no such file', file);
    let png: ReturnType<typeof readPng>;
    try {
      png = readPng(file);
    } catch (e) {
      throw new InputError(`not a readable PNG (${(e as Error).message})`, file);
    }
    const model = loadModel(args.values.checkpoint as string | undefined, device);
    try {
      const S = model.config.imageSize;
      if (png.width !== S || png.height !== S) throw new InputError(`the image is ${png.width}x${png.height}; the model reads ${S}x${S}`, file);
      try {
        model.vocab.words(expr);
      } catch (e) {
        throw new InputError(`--expr: ${(e as Error).message.replace(/^TextTokenizer\.encode: /, '')}`);
      }
      const box = tidy(() => model.ground(rgbToTensor(png.rgb, S), expr, search));
      const rounded = box.map((v) => Math.round(v * 1e4) / 1e4);
      if (args.values.json) console.log(JSON.stringify({ image: file, expr, box: rounded }));
      else console.log(`${expr}: [${rounded.join(', ')}]`);
    } finally {
      model.dispose();
    }
    return 0;
  },
};
