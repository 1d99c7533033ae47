// Shared small fixtures for the model tests: a word list and hand-made layouts (the world's own
// vocabulary and scenes are used where a test needs real images).
import type { Layout } from '../../lib/model';

export const WORDS = [
  'a', 'an', 'the', 'of', 'left', 'right', 'above', 'below', 'in', 'front', 'behind', 'and',
  'red', 'green', 'blue', 'yellow', 'small', 'large', 'circle', 'square', 'triangle', 'striped', 'dotted',
];

export const LAYOUT: Layout = {
  caption: 'a red circle left of a blue square',
  objects: [
    { expr: 'red circle', box: [0.125, 0.25, 0.375, 0.5] },
    { expr: 'blue square', box: [0.5, 0.5, 0.875, 0.8125] },
  ],
};
