// `echogen eval l2i|ground`: the numbers of docs/design.md section 6 for a model (default: the shipped one).
import * as fs from 'fs';
import * as path from 'path';
import { writePng } from '../data';
import { readModelLayouts } from './layouts';
import type { Layout } from '../model';
import { evalGround, evalL2i } from '../train/evaluate';
import { evalL2iReal } from './eval-l2i';
import { MAX_SEED, Verb, UsageError, intOption, requireString } from './verb';
import { DEVICE_OPTION, deviceOption, loadModel } from './shipped';
import { progress } from './progress';
import { SAMPLES_OPTION, groundOptions } from './ground';

const fmt = (v: number): string => v.toFixed(4);

export const evalVerb: Verb = {
  name: 'eval',
  summary: 'measure a model: l2i (detector AP on generated images, cycle IoU) or ground (Acc@0.5/0.75, mAcc)',
  positionals: 'l2i|ground',
  required: ['layouts'],
  options: {
    layouts: { type: 'string', value: 'FILE', description: 'layout file (JSON Lines) to evaluate on' },
    checkpoint: { type: 'string', value: 'DIR', description: 'model or training output directory', default: 'the shipped model (models/small)' },
    device: DEVICE_OPTION,
    real: { type: 'boolean', description: "l2i only: run the detector on the world's own renders (the upper bound), no model" },
    seed: { type: 'string', value: 'S', description: 'l2i: sampling seed', default: '0' },
    images: { type: 'string', value: 'DIR', description: 'l2i: also write the generated images here' },
    samples: { ...SAMPLES_OPTION, description: `ground: ${SAMPLES_OPTION.description}` },
    json: { type: 'boolean', description: 'print one JSON object as the last line of stdout' },
  },
  async run(args) {
    const device = deviceOption(args);
    const task = args.positionals[0];
    if (task !== 'l2i' && task !== 'ground') throw new UsageError(`expected 'eval l2i' or 'eval ground', got ${task === undefined ? 'nothing' : `'${task}'`}`);
    if (args.positionals.length > 1) throw new UsageError(`unexpected argument '${args.positionals[1]}'`);
    // The real-image upper bound is the world's own command.
    if (task === 'l2i' && args.values.real) {
      if (args.values.checkpoint !== undefined) throw new UsageError('--real measures the world\'s renders; it takes no --checkpoint');
      return evalL2iReal(args);
    }
    if (args.values.real) throw new UsageError('--real only applies to eval l2i');
    const file = requireString(args, 'layouts');
    const seed = intOption(args, 'seed', 0, { min: 0, max: MAX_SEED });
    const search = groundOptions(args);
    if (task === 'l2i' && search.samples) throw new UsageError('--samples only applies to eval ground');
    const model = loadModel(args.values.checkpoint as string | undefined, device);
    let layouts: Layout[];
    try {
      layouts = readModelLayouts(file, model);
    } catch (e) {
      model.dispose();
      throw e;
    }
    const json = Boolean(args.values.json);
    const t0 = Date.now();
    try {
      if (task === 'l2i') {
        const dir = args.values.images as string | undefined;
        if (dir) fs.mkdirSync(dir, { recursive: true });
        const bar = progress('eval l2i', layouts.length);
        let done = 0;
        const r = evalL2i(model, layouts, {
          seed,
          onProgress: (d) => { bar.tick(d - done); done = d; },
          onImage: dir ? (i, rgb) => writePng(path.join(dir, `${String(i).padStart(5, '0')}.png`), rgb) : undefined,
        });
        bar.stop();
        const seconds = (Date.now() - t0) / 1000;
        if (json) console.log(JSON.stringify({ task: 'l2i', source: 'model', layouts: file, ...r, seconds }));
        else console.log(`generated (${r.images}): AP ${fmt(r.AP)} | AP50 ${fmt(r.AP50)} | AP75 ${fmt(r.AP75)} | compositional ${fmt(r.compositional)} | cycle IoU ${fmt(r.cycleIou)} (Acc@0.5 ${fmt(r.cycleAcc50)})`);
      } else {
        const total = layouts.reduce((s, l) => s + l.objects.length, 0);
        const bar = progress('eval ground', total);
        let done = 0;
        const r = evalGround(model, layouts, { ground: search, onProgress: (d) => { bar.tick(d - done); done = d; } });
        bar.stop();
        const seconds = (Date.now() - t0) / 1000;
        if (json) console.log(JSON.stringify({ task: 'ground', layouts: file, samples: search.samples, ...r, seconds }));
        else console.log(`grounding (${r.queries} expressions): Acc@0.5 ${fmt(r.acc50)} | Acc@0.75 ${fmt(r.acc75)} | mAcc ${fmt(r.mAcc)} | mean IoU ${fmt(r.meanIou)}`);
      }
    } finally {
      model.dispose();
    }
    return 0;
  },
};
