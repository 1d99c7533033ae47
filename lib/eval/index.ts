// lib/eval: the detector and the measures of docs/design.md section 6.
export { detect } from './detector';
export type { Detection, DetectionResult, DetectorOptions } from './detector';
export { cocoAp, IOU_THRESHOLDS, RECALL_THRESHOLDS } from './coco-ap';
export type { ApImage, GroundTruthBox, ScoredBox, CocoApOptions, CocoApResult, CategoryAp } from './coco-ap';
export { groundingAccuracy, ACC_THRESHOLDS } from './grounding';
export type { GroundingAccuracy } from './grounding';
export { captionSatisfied, compositionalAccuracy } from './compositional';
export type { CompositionalAccuracy } from './compositional';
export { evaluateL2i, evaluateL2iReal } from './l2i';
export type { L2iReport, L2iOptions } from './l2i';
