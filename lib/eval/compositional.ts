// Compositional accuracy: the share of images whose detections make the caption true, i.e. each
// mentioned object is found with every attribute the caption gives it (colour, shape, texture,
// size), as distinct detections, and every relation of the caption holds between them (spatial
// relations from the detected boxes, depth from which region covers which). Extra detections the
// caption does not mention are allowed.
import { parseCaption } from '../data/grammar';
import type { ParsedCaption } from '../data/grammar';
import { captionHolds } from '../data/semantics';
import type { DetectionResult } from './detector';

export function captionSatisfied(caption: string | ParsedCaption, result: DetectionResult): boolean {
  const parsed = typeof caption === 'string' ? parseCaption(caption) : caption;
  return captionHolds(parsed, result.detections, result.view);
}

export interface CompositionalAccuracy {
  accuracy: number;
  satisfied: number;
  n: number;
}

export function compositionalAccuracy(items: readonly { caption: string | ParsedCaption; result: DetectionResult }[]): CompositionalAccuracy {
  if (!Array.isArray(items) || items.length === 0) throw new RangeError('compositionalAccuracy: items must be a non-empty array of { caption, result }');
  let satisfied = 0;
  items.forEach((it, i) => {
    let ok: boolean;
    try {
      ok = captionSatisfied(it.caption, it.result);
    } catch (e) {
      throw new RangeError(`compositionalAccuracy: items[${i}].caption: ${(e as Error).message}`);
    }
    if (ok) satisfied++;
  });
  return { accuracy: satisfied / items.length, satisfied, n: items.length };
}
