// `echogen render`: the world's own image of each line of a layout file, DIR/NNNNN.png in line order.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LayoutError, readLayoutEntries, renderScene, sceneFromLayout, writePng } from '../data';
import type { Layout, Scene } from '../data';
import { progress } from './progress';
import { requireString } from './verb';
import type { Verb } from './verb';
import { imageStem } from './world';

/** The layouts of a file and their scenes; any problem is a LayoutError "FILE:LINE: reason". */
export function readScenes(file: string): { layouts: Layout[]; scenes: Scene[] } {
  const entries = readLayoutEntries(file);
  if (entries.length === 0) throw new LayoutError(file, 0, 'the file has no layouts');
  const scenes = entries.map((e) => {
    try {
      return sceneFromLayout(e.layout);
    } catch (err) {
      throw new LayoutError(file, e.line, (err as Error).message);
    }
  });
  return { layouts: entries.map((e) => e.layout), scenes };
}

export const renderVerb: Verb = {
  name: 'render',
  summary: "render the world's own image of each layout line to DIR/NNNNN.png",
  required: ['layouts', 'out'],
  options: {
    layouts: { type: 'string', value: 'FILE', description: 'layout file (JSON Lines)' },
    out: { type: 'string', value: 'DIR', description: 'output directory (created)' },
    overlay: { type: 'boolean', description: 'draw the boxes, 4x upscaled' },
    json: { type: 'boolean', description: 'print one JSON object as the last line of stdout' },
  },
  async run(args) {
    const file = requireString(args, 'layouts');
    const out = requireString(args, 'out');
    const { scenes } = readScenes(file);
    fs.mkdirSync(out, { recursive: true });
    const n = scenes.length;
    const buf = new Uint8Array(64 * 64 * 3);
    const bar = progress('render', n);
    try {
      scenes.forEach((s, i) => {
        renderScene(s, buf);
        writePng(path.join(out, `${imageStem(i, n)}.png`), buf, args.values.overlay ? { scale: 4, boxes: s.objects.map((o) => o.box) } : {});
        bar.tick();
      });
    } finally {
      bar.stop();
    }
    if (args.values.json) console.log(JSON.stringify({ n, out }));
    else console.log(`rendered ${n} layouts to ${out}/${imageStem(0, n)}.png ...`);
    return 0;
  },
};
