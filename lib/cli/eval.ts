// `echogen eval l2i|ground`: the numbers of DESIGN.md section 6 for a model (default: the shipped one).
import * as fs from 'fs';
import * as path from 'path';
import { readLayouts, writePng } from '../data';
import type { Layout } from '../model';
import { evalGround, evalL2i } from '../train/evaluate';
import { evalL2iReal } from './eval-l2i';
import { Verb, UsageError, intOption, requireString } from './verb';
import { loadModel } from './shipped';
import { progress } from './progress';

const fmt = (v: number): string => v.toFixed(4);

export const evalVerb: Verb = {
  name: 'eval',
  summary: 'measure a model: l2i (detector AP on generated images, cycle IoU) or ground (Acc@0.5/0.75, mAcc)',
  usage: 'echogen eval l2i|ground --layouts FILE [--checkpoint DIR] [--real] [--seed S] [--images DIR] [--json]',
  options: {
    layouts: { type: 'string' },
    checkpoint: { type: 'string' },
    real: { type: 'boolean' },
    seed: { type: 'string' },
    images: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args) {
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
    const layouts = readLayouts(file) as Layout[];
    if (layouts.length === 0) throw new UsageError(`${file}: no layouts in the file`, 1);
    const json = Boolean(args.values.json);
    const model = loadModel(args.values.checkpoint as string | undefined);
    const t0 = Date.now();
    try {
      if (task === 'l2i') {
        const seed = intOption(args, 'seed', 0);
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
        const r = evalGround(model, layouts, { onProgress: (d) => { bar.tick(d - done); done = d; } });
        bar.stop();
        const seconds = (Date.now() - t0) / 1000;
        if (json) console.log(JSON.stringify({ task: 'ground', layouts: file, ...r, seconds }));
        else console.log(`grounding (${r.queries} expressions): Acc@0.5 ${fmt(r.acc50)} | Acc@0.75 ${fmt(r.acc75)} | mAcc ${fmt(r.mAcc)} | mean IoU ${fmt(r.meanIou)}`);
      }
    } finally {
      model.dispose();
    }
    return 0;
  },
};
