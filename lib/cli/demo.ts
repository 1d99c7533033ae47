// `echogen demo`: the shipped model draws a few held-out layouts, grounds every expression back in
// its own images and in the world's renders, prints the numbers and writes a PNG grid
// (per layout: the world's render with the layout boxes | the generated image | the generated
// image with the boxes the model grounded in it).
import * as fs from 'fs';
import * as path from 'path';
import { Tensor, tensor, tidy } from '../tensor';
import { generateScenes, renderLayout } from '../data';
import type { Layout } from '../model';
import { boxIou } from '../data';
import type { Box } from '../data';
import { renderBatch } from '../train/data';
import { MAX_SEED, Verb, intOption, numberOption } from './verb';
import { DEVICE_OPTION, deviceOption, loadModel, resolveModelDir } from './shipped';
import { drawBoxes, tensorToRgb, writeGrid } from './images';

const LAYOUT_BOX: [number, number, number] = [0, 0, 0];
const GROUND_BOX: [number, number, number] = [255, 0, 255];

export const DEMO_COLUMNS = ['world render + layout (black)', 'generated from the layout', 'generated + grounded (magenta)'];

/** Sampling temperature of the demo: greedy, the best L2I AP of the shipped model (docs/training.md: 24.2 % vs 19.5 % at 0.5, 9.9 % at 1). */
export const DEMO_TEMPERATURE = 0;

export const demoVerb: Verb = {
  name: 'demo',
  summary: 'generate a few held-out layouts with the shipped model, ground them back, print the numbers, write a PNG grid',
  options: {
    checkpoint: { type: 'string', value: 'DIR', description: 'model or training output directory', default: 'the shipped model (models/small)' },
    device: DEVICE_OPTION,
    count: { type: 'string', value: 'N', description: 'layouts to draw, 1 to 64', default: '6' },
    temperature: { type: 'string', value: 'T', description: 'sampling temperature, 0 (greedy) to 10', default: String(DEMO_TEMPERATURE) },
    seed: { type: 'string', value: 'S', description: 'which held-out layouts and the sampling seed', default: '0' },
    out: { type: 'string', value: 'FILE.png', description: 'the PNG grid', default: 'echogen-demo.png' },
    json: { type: 'boolean', description: 'print one JSON object as the last line of stdout' },
  },
  notes: [
    'The grid has one row per layout, under its caption: the world\'s own render with the layout\'s boxes',
    '(black) | the image the model drew from the layout | that image with the boxes the model found for',
    "each of the layout's expressions (magenta).",
  ],
  async run(args) {
    const device = deviceOption(args);
    const t0 = Date.now();
    const count = intOption(args, 'count', 6, { min: 1, max: 64 });
    const seed = intOption(args, 'seed', 0, { min: 0, max: MAX_SEED - 20240 });
    const out = (args.values.out as string | undefined) ?? 'echogen-demo.png';
    const model = loadModel(args.values.checkpoint as string | undefined, device);
    const S = model.config.imageSize;
    const layouts = generateScenes(count, 'test', 20240 + seed).map((s) => s.layout as Layout);
    const json = Boolean(args.values.json);
    const temperature = numberOption(args, 'temperature', DEMO_TEMPERATURE, { min: 0, max: 10 });
    const gen = tidy(() => tensorToRgb(model.generate(layouts, { seed, temperature }).images));
    const rows: (Uint8Array | null)[][] = [];
    const cycle: number[] = [], real: number[] = [];
    const perLayout: { caption: string; cycleIou: number[]; realIou: number[] }[] = [];
    layouts.forEach((l, i) => {
      const exprs = l.objects.map((o) => o.expr);
      const genBoxes = tidy(() => model.ground(stack(gen[i], exprs.length, S), exprs));
      const realBoxes = tidy(() => model.ground(renderBatch(exprs.map(() => l)), exprs));
      const c = genBoxes.map((b, k) => boxIou(b, l.objects[k].box as Box));
      const r = realBoxes.map((b, k) => boxIou(b, l.objects[k].box as Box));
      cycle.push(...c);
      real.push(...r);
      perLayout.push({ caption: l.caption, cycleIou: c, realIou: r });
      const render = renderLayout(l as Parameters<typeof renderLayout>[0]);
      rows.push([drawBoxes(render, S, l.objects.map((o) => o.box), LAYOUT_BOX), gen[i], drawBoxes(gen[i], S, genBoxes, GROUND_BOX)]);
    });
    const rowLabels = perLayout.map((p, i) => `${i + 1}. ${p.caption}`);
    writeGrid(out, rows, S, 3, { columns: DEMO_COLUMNS, rows: rowLabels });
    model.dispose();
    const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);
    const seconds = (Date.now() - t0) / 1000;
    const acc50 = real.filter((v) => v > 0.5).length / Math.max(1, real.length);
    if (json) {
      console.log(JSON.stringify({ layouts: count, cycleIou: mean(cycle), groundIouReal: mean(real), acc50Real: acc50, grid: path.resolve(out), seconds, perLayout }));
    } else {
      console.log('What the numbers mean (IoU: overlap of two boxes, 0 = disjoint, 1 = identical):');
      console.log('  cycle IoU    the model draws an image from the layout, then finds each expression in its own image; IoU with the layout box');
      console.log("  real IoU     the model finds each expression in the world's own render of the layout; IoU with the true box");
      console.log('  Acc@0.5      the share of expressions whose real IoU is above 0.5 (a box "found")');
      console.log('');
      perLayout.forEach((p, i) => console.log(`${i + 1}. ${p.caption}\n   cycle IoU ${p.cycleIou.map((v) => v.toFixed(2)).join(' ')} | real IoU ${p.realIou.map((v) => v.toFixed(2)).join(' ')}`));
      console.log(`\n${count} layouts, ${cycle.length} expressions: mean cycle IoU ${mean(cycle).toFixed(3)} | mean real IoU ${mean(real).toFixed(3)} | Acc@0.5 ${acc50.toFixed(3)}`);
      console.log(`grid: ${path.resolve(out)} (columns: ${DEMO_COLUMNS.join(' | ')}; ${seconds.toFixed(1)} s)`);
      const held = heldOutNumbers(resolveModelDir(args.values.checkpoint as string | undefined));
      if (held) console.log(`\n${held}`);
    }
    return 0;
  },
};

/**
 * The model's measured held-out numbers, from eval.json beside its weights (written with the model
 * by scripts/evaluate-model.js), as lines for the terminal; null when the model has none.
 */
export function heldOutNumbers(dir: string): string | null {
  const file = path.join(dir, 'eval.json');
  if (!fs.existsSync(file)) return null;
  const e = JSON.parse(fs.readFileSync(file, 'utf8')) as { date: string; note?: string; sets: { name: string; layouts: number; realAP: number; AP: number; AP50: number; acc50: number; cycleIou: number; search?: { samples: number; acc50: number } }[] };
  // Two decimals: one would print 89.95% as 90.0%, a bar the model does not reach.
  const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
  return [`This model on held-out layouts (${e.date}${e.note ? `; ${e.note}` : ''}):`,
    ...e.sets.map((s) => `  ${s.name} (${s.layouts} layouts): L2I AP ${pct(s.AP)} (AP50 ${pct(s.AP50)}) vs ${pct(s.realAP)} on the real renders | grounding Acc@0.5 ${pct(s.acc50)}${s.search ? ` (${pct(s.search.acc50)} with --samples ${s.search.samples})` : ''} | cycle IoU ${s.cycleIou.toFixed(3)}`),
  ].join('\n');
}

/** One RGB image repeated `n` times as f32 [n, S, S, 3] (one grounding query per copy). */
function stack(rgb: Uint8Array, n: number, S: number): Tensor {
  const one = S * S * 3;
  const f = new Float32Array(n * one);
  for (let j = 0; j < one; j++) f[j] = rgb[j] / 255;
  for (let k = 1; k < n; k++) f.copyWithin(k * one, 0, one);
  return tensor(f, [n, S, S, 3]);
}
