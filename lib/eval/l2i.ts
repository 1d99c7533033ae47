// Layout fidelity of images drawn for layouts: detect every image, score the detections against
// the layouts' boxes and classes with COCO AP, and the captions with compositional accuracy.
// With the world's own renders as the images this is the "real images" upper bound.
import { renderScene } from '../data/render';
import { categoryOf, sceneFromLayout } from '../data/scene';
import type { Layout } from '../data/scene';
import { cocoAp } from './coco-ap';
import type { ApImage, CategoryAp } from './coco-ap';
import { compositionalAccuracy } from './compositional';
import { detect } from './detector';
import type { DetectionResult } from './detector';

export interface L2iReport {
  n: number;
  objects: number;
  AP: number;
  AP50: number;
  AP75: number;
  compositional: number;
  /** Captions the grammar cannot read (not scored by compositional accuracy). */
  unparsed: number;
  perCategory: CategoryAp[];
}

export interface L2iOptions {
  /** Called after each image with the number done so far. */
  onProgress?: (done: number) => void;
}

/** Scores images[i] (64x64 RGB) against layouts[i]. Throws a RangeError naming the layout that cannot be read. */
export function evaluateL2i(layouts: readonly Layout[], image: (i: number) => Uint8Array, opts: L2iOptions = {}): L2iReport {
  if (layouts.length === 0) throw new RangeError('evaluateL2i: no layouts');
  const apImages: ApImage[] = [];
  const comp: { caption: string; result: DetectionResult }[] = [];
  let objects = 0;
  layouts.forEach((layout, i) => {
    let scene;
    try {
      scene = sceneFromLayout(layout);
    } catch (e) {
      throw new RangeError(`layout ${i + 1}: ${(e as Error).message}`);
    }
    const result = detect(image(i));
    objects += scene.objects.length;
    apImages.push({
      gts: scene.objects.map((o) => ({ box: o.box, category: categoryOf(o) })),
      dts: result.detections.map((d) => ({ box: d.box, category: d.category, score: d.score })),
    });
    comp.push({ caption: layout.caption, result });
    opts.onProgress?.(i + 1);
  });
  const ap = cocoAp(apImages);
  const c = compositionalAccuracy(comp);
  return {
    n: layouts.length, objects, AP: ap.AP, AP50: ap.AP50, AP75: ap.AP75,
    compositional: c.accuracy, unparsed: c.unparsed, perCategory: ap.perCategory,
  };
}

/** The detector on the world's own renders of the layouts. */
export function evaluateL2iReal(layouts: readonly Layout[], opts: L2iOptions = {}): L2iReport {
  const buf = new Uint8Array(64 * 64 * 3);
  return evaluateL2i(layouts, (i) => renderScene(sceneFromLayout(layouts[i]), buf), opts);
}
