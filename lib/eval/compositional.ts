// Compositional accuracy: the share of images whose detections make the caption true, i.e. each
// mentioned object is found with every attribute the caption gives it (colour, shape, texture,
// size), as distinct detections, and every relation of the caption holds between them (spatial
// relations from the detected boxes, depth from which region covers which). Extra detections the
// caption does not mention are allowed.
import { parseCaption } from '../data/grammar';
import { tokenize } from '../data/vocab';
import type { ParsedCaption } from '../data/grammar';
import { captionHolds } from '../data/semantics';
import type { DetectionResult } from './detector';

export function captionSatisfied(caption: string | ParsedCaption, result: DetectionResult): boolean {
  const parsed = typeof caption === 'string' ? parseCaption(caption) : caption;
  return captionHolds(parsed, result.detections, result.view);
}

export interface CompositionalAccuracy {
  /** satisfied / (n - unparsed): the share of the captions the grammar reads that the image makes true (0 when none parse). */
  accuracy: number;
  satisfied: number;
  n: number;
  /** Captions made of known words that the caption grammar cannot read: not scored, counted here. */
  unparsed: number;
}

export function compositionalAccuracy(items: readonly { caption: string | ParsedCaption; result: DetectionResult }[]): CompositionalAccuracy {
  if (!Array.isArray(items) || items.length === 0) throw new RangeError('compositionalAccuracy: items must be a non-empty array of { caption, result }');
  let satisfied = 0, unparsed = 0;
  for (const [i, it] of items.entries()) {
    let parsed: ParsedCaption;
    if (typeof it.caption === 'string') {
      // An unknown word is an error; known words the grammar cannot read are "unparsed".
      try {
        tokenize(it.caption);
      } catch (e) {
        throw new RangeError(`compositionalAccuracy: items[${i}].caption: ${(e as Error).message}`);
      }
      try {
        parsed = parseCaption(it.caption);
      } catch {
        unparsed++;
        continue;
      }
    } else parsed = it.caption;
    if (captionSatisfied(parsed, it.result)) satisfied++;
  }
  const scored = items.length - unparsed;
  return { accuracy: scored > 0 ? satisfied / scored : 0, satisfied, n: items.length, unparsed };
}
