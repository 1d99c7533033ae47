// `echogen eval l2i --layouts FILE --real [--json]`: the detector on the world's own renders of
// the layouts (the "real images" upper bound of layout fidelity). The model's issue adds
// `--checkpoint` (images drawn by a model) next to `--real`.
import { evaluateL2iReal } from '../eval';
import type { L2iReport } from '../eval';
import { progress } from './progress';
import { readScenes } from './render';
import { UsageError, requireString } from './verb';
import type { VerbArgs } from './verb';


export function formatL2iReport(r: L2iReport, what: string): string {
  const f = (v: number) => v.toFixed(4);
  const lines = [
    `${what}: ${r.n} layouts, ${r.objects} objects`,
    `  AP ${f(r.AP)}   AP50 ${f(r.AP50)}   AP75 ${f(r.AP75)}   compositional ${f(r.compositional)}${r.unparsed ? ` (${r.unparsed} unparsed caption${r.unparsed === 1 ? '' : 's'} not scored)` : ''}`,
    '  per category (AP / gts):',
    ...r.perCategory.map((c) => `    ${c.category.padEnd(16)} ${f(c.AP)} / ${c.gts}`),
  ];
  return lines.join('\n');
}

/** The handler of `echogen eval l2i --real` (a LayoutError reaches main.ts: "echogen eval: FILE:LINE: reason", exit 1). */
export async function evalL2iReal(args: VerbArgs): Promise<number> {
  const file = requireString(args, 'layouts');
  if (args.values.real !== true) throw new UsageError('eval l2i needs --real (the detector on the world\'s own renders)');
  const { layouts } = readScenes(file);
  const bar = progress('eval l2i', layouts.length);
  let report: L2iReport;
  try {
    report = evaluateL2iReal(layouts, { onProgress: () => bar.tick() });
  } finally {
    bar.stop();
  }
  if (args.values.json) {
    const perCategory = Object.fromEntries(report.perCategory.map((c) => [c.category, { AP: c.AP, AP50: c.AP50, AP75: c.AP75, gts: c.gts, dts: c.dts }]));
    console.log(JSON.stringify({ images: 'real', n: report.n, objects: report.objects, AP: report.AP, AP50: report.AP50, AP75: report.AP75, compositional: report.compositional, unparsed: report.unparsed, perCategory }));
  } else {
    console.log(formatL2iReport(report, `detector on the world's renders of ${file}`));
  }
  return 0;
}
