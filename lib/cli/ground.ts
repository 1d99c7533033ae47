// `echogen ground`: the box of an expression in a 64x64 PNG.
import * as fs from 'fs';
import { tidy } from '../tensor';
import { readPng } from '../data';
import { Verb, UsageError, requireString } from './verb';
import { loadModel } from './shipped';
import { rgbToTensor } from './images';

export const groundVerb: Verb = {
  name: 'ground',
  summary: 'find the box of an expression in an image',
  usage: 'echogen ground [--checkpoint DIR] --image FILE.png --expr "red circle" [--json]',
  options: {
    checkpoint: { type: 'string' },
    image: { type: 'string' },
    expr: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args) {
    const file = requireString(args, 'image');
    const expr = requireString(args, 'expr');
    if (!fs.existsSync(file)) throw new UsageError(`${file}: no such file`, 1);
    let png: ReturnType<typeof readPng>;
    try {
      png = readPng(file);
    } catch (e) {
      throw new UsageError(`${file}: not a readable PNG (${(e as Error).message})`, 1);
    }
    const model = loadModel(args.values.checkpoint as string | undefined);
    const S = model.config.imageSize;
    if (png.width !== S || png.height !== S) throw new UsageError(`${file}: the image is ${png.width}x${png.height}; the model reads ${S}x${S}`, 1);
    try {
      model.vocab.words(expr);
    } catch (e) {
      throw new UsageError(`--expr: ${(e as Error).message.replace(/^TextTokenizer\.encode: /, '')}`, 1);
    }
    const box = tidy(() => model.ground(rgbToTensor(png.rgb, S), expr));
    model.dispose();
    const rounded = box.map((v) => Math.round(v * 1e4) / 1e4);
    if (args.values.json) console.log(JSON.stringify({ image: file, expr, box: rounded }));
    else console.log(`${expr}: [${rounded.join(', ')}]`);
    return 0;
  },
};
