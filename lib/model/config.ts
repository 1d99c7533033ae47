// EchoGen configuration and the named presets.
export interface EchoGenConfig {
  dim: number;
  layers: number;
  heads: number;
  mlpRatio: number;
  /** Largest position id + 1 (PMTP sequences of 4 objects stay well under 256). */
  maxPositions: number;
  imageSize: number;
  patchSize: number;
  codebookSize: number;
  /** The text vocabulary (the scene world's words), in id order. */
  words: string[];
  /** Seed of the parameter init. */
  seed: number;
  /**
   * Whether coordinate tokens and image patches share the Fourier encoding of lib/model/geometry.ts
   * (absent in checkpoints written before it existed: false).
   */
  geometry?: boolean;
  /** Whether drawing steps get the layout map of lib/model/layout_map.ts (absent: false). */
  layoutMap?: boolean;
  /**
   * Whether an image code's embedding adds a learned linear map of its codebook patch's pixels
   * (ViT's patch embedding), so colour and edge shape are linear features of every image token
   * instead of 2,048 independent rows to learn (absent: false).
   */
  patchPixels?: boolean;
  /**
   * Whether grounding queries read where their expression matches the image through the referring
   * readout of lib/model/ref_readout.ts (needs geometry; absent: false).
   */
  refReadout?: boolean;
  /**
   * Whether the referring readout reads a relational expression in two hops, the anchor's position
   * first (lib/model/ref_readout.ts; needs refReadout; absent: false).
   */
  refRelations?: boolean;
  /**
   * Whether the image prefix of a grounding sequence (segment 1) attends both ways: every patch sees
   * the whole image, as in a prefix LM, instead of the patches before it in raster order. No loss is
   * taken on the prefix, so nothing leaks; the L2I part stays causal (absent: false).
   */
  bidirectionalImage?: boolean;
  /**
   * Whether training also asks every image patch of a grounding sequence's prefix for the box of the
   * object it shows (lib/model/patch_boxes.ts; an auxiliary loss, unused at inference; needs geometry;
   * absent: false).
   */
  patchBoxes?: boolean;
  /** With patchBoxes: each such patch also predicts its object's shape (absent: false). */
  patchShapes?: boolean;
  /**
   * Whether the referring readout's key of a patch also reads the codes of the patches around it (a
   * 5x5 neighbourhood, both ways), so a patch inside a region of one colour can tell which shape it is
   * part of (lib/model/ref_readout.ts; needs refReadout; absent: false).
   */
  refNeighbours?: boolean;
  /** With refNeighbours: the neighbourhood's radius in patches, 1 to 7 (absent: 2, a 5x5 neighbourhood). */
  refNeighbourRadius?: number;
}

export type PresetName = 'tiny' | 'small';
export type ModelShape = Pick<EchoGenConfig, 'dim' | 'layers' | 'heads' | 'mlpRatio' | 'maxPositions' | 'imageSize' | 'patchSize' | 'codebookSize' | 'geometry' | 'layoutMap' | 'patchPixels' | 'refReadout' | 'refRelations' | 'bidirectionalImage' | 'patchBoxes' | 'patchShapes' | 'refNeighbours' | 'refNeighbourRadius'>;

/**
 * tiny: tests and quick demos (8x8 patches, 64 image tokens; too coarse for faithful boxes).
 * small: the CPU training target, under 20 MB of f32 weights with the codebook. Its tokenizer is
 * 4x4 patches with 2048 codes (256 image tokens), the coarsest measured to keep the detector's AP on
 * reconstructions above 0.9x the originals (8x8 with 512 codes keeps ~0.53x; docs/model.md). It has
 * every learning aid of docs/training.md: the coordinate encoding, the layout map, the patch pixel
 * embedding, the referring readout with its keys' 7x7 neighbourhood (section 18) and (training only) the
 * patch-box task with shapes (section 13: the full run raised grounding Acc@0.5 from 91.85 to 95.47 on the
 * world's test split).
 */
export const presets: Record<PresetName, ModelShape> = {
  tiny: { dim: 64, layers: 2, heads: 4, mlpRatio: 4, maxPositions: 256, imageSize: 64, patchSize: 8, codebookSize: 256, geometry: true },
  small: { dim: 128, layers: 4, heads: 4, mlpRatio: 4, maxPositions: 512, imageSize: 64, patchSize: 4, codebookSize: 2048, geometry: true, layoutMap: true, patchPixels: true, refReadout: true, refRelations: true, patchBoxes: true, patchShapes: true, refNeighbours: true, refNeighbourRadius: 3 },
};

/**
 * A shape with on/off components overridden (`echogen train --model-flags`). A flag that turns
 * refNeighbours off also drops the neighbourhood's radius, which means nothing without it.
 */
export function withFlags<S extends Partial<ModelShape>>(shape: S, flags: Partial<ModelShape> | undefined): S {
  const out = { ...shape, ...flags };
  if (!out.refNeighbours) delete out.refNeighbourRadius;
  return out;
}

const INT_FIELDS = ['dim', 'layers', 'heads', 'maxPositions', 'imageSize', 'patchSize', 'codebookSize', 'seed'] as const;
// Sane bounds, far above anything that trains here, so a corrupt or hostile config is refused before
// it sizes any allocation (each stays well inside the 2^31 - 1 elements a tensor may hold).
const MAX: Record<(typeof INT_FIELDS)[number], number> = {
  dim: 16384, layers: 1024, heads: 1024, maxPositions: 1 << 20, imageSize: 4096, patchSize: 256, codebookSize: 1 << 20, seed: Number.MAX_SAFE_INTEGER,
};
/** The config's on/off components (what `echogen train --model-flags` may override). */
export const MODEL_FLAGS = ['geometry', 'layoutMap', 'patchPixels', 'refReadout', 'refRelations', 'bidirectionalImage', 'patchBoxes', 'patchShapes', 'refNeighbours'] as const;
export type ModelFlag = (typeof MODEL_FLAGS)[number];
// format and version are the checkpoint's own fields (lib/model/checkpoint.ts), next to the config's.
const KNOWN_FIELDS = new Set<string>([...INT_FIELDS, 'mlpRatio', 'words', ...MODEL_FLAGS, 'refNeighbourRadius', 'format', 'version']);
const MAX_MLP_RATIO = 64;
const MAX_WORDS = 1 << 20;

/** Checks a config read from anywhere (a user, config.json); `where` (if not empty) prefixes errors. */
export function checkConfig(c: unknown, where: string): EchoGenConfig {
  const at = where ? `${where}: ` : '';
  if (c === null || typeof c !== 'object') throw new TypeError(`${at}config must be an object`);
  const o = c as Record<string, unknown>;
  for (const k of INT_FIELDS) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < (k === 'seed' ? 0 : 1)) throw new RangeError(`${at}config.${k} must be a ${k === 'seed' ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(v)}`);
    if (v > MAX[k]) throw new RangeError(`${at}config.${k} must be at most ${MAX[k]}, got ${v}`);
  }
  if (typeof o.mlpRatio !== 'number' || !(o.mlpRatio > 0 && o.mlpRatio <= MAX_MLP_RATIO)) throw new RangeError(`${at}config.mlpRatio must be a positive number at most ${MAX_MLP_RATIO}, got ${JSON.stringify(o.mlpRatio)}`);
  if (!Array.isArray(o.words) || !o.words.every((w) => typeof w === 'string')) throw new TypeError(`${at}config.words must be an array of strings`);
  // A field this version does not know is refused, not dropped: a flag that changes what the model
  // computes (bidirectionalImage, say, in a checkpoint written by a newer echogen) would otherwise be
  // read as its default and give silently different answers.
  for (const k of Object.keys(o)) {
    if (!KNOWN_FIELDS.has(k)) throw new RangeError(`${at}config.${k} is not a field this version of echogen knows (a newer version's checkpoint, or a typo?); known: ${[...KNOWN_FIELDS].join(', ')}`);
  }
  for (const k of MODEL_FLAGS) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new TypeError(`${at}config.${k} must be a boolean, got ${JSON.stringify(o[k])}`);
  }
  if (o.words.length > MAX_WORDS) throw new RangeError(`${at}config.words has ${o.words.length} entries, at most ${MAX_WORDS}`);
  const cfg = o as unknown as EchoGenConfig;
  if (cfg.heads > cfg.dim) throw new RangeError(`${at}config.heads (${cfg.heads}) must be at most config.dim (${cfg.dim})`);
  if (cfg.dim % cfg.heads !== 0) throw new RangeError(`${at}config.dim (${cfg.dim}) must be a multiple of config.heads (${cfg.heads})`);
  if (cfg.maxPositions * cfg.dim > 2 ** 31 - 1) throw new RangeError(`${at}config.maxPositions * config.dim (${cfg.maxPositions} * ${cfg.dim}) exceeds a tensor's 2^31 - 1 elements`);
  if (cfg.refReadout && !cfg.geometry) throw new RangeError(`${at}config.refReadout needs config.geometry (its values are the patches' Fourier features)`);
  if (cfg.patchBoxes && !cfg.geometry) throw new RangeError(`${at}config.patchBoxes needs config.geometry (the boxes are read through the coordinate pointer)`);
  if (cfg.patchShapes && !cfg.patchBoxes) throw new RangeError(`${at}config.patchShapes needs config.patchBoxes (the same patches and targets)`);
  if (cfg.refRelations && !cfg.refReadout) throw new RangeError(`${at}config.refRelations needs config.refReadout (it is a second hop of the readout)`);
  if (cfg.refNeighbours && !cfg.refReadout) throw new RangeError(`${at}config.refNeighbours needs config.refReadout (it is part of the readout's keys)`);
  if (o.refNeighbourRadius !== undefined) {
    if (!cfg.refNeighbours) throw new RangeError(`${at}config.refNeighbourRadius needs config.refNeighbours`);
    if (!(Number.isInteger(o.refNeighbourRadius) && cfg.refNeighbourRadius! >= 1 && cfg.refNeighbourRadius! <= 7)) throw new RangeError(`${at}config.refNeighbourRadius must be an integer from 1 to 7, got ${JSON.stringify(o.refNeighbourRadius)}`);
  }
  if (cfg.imageSize % cfg.patchSize !== 0) throw new RangeError(`${at}config.patchSize (${cfg.patchSize}) must divide config.imageSize (${cfg.imageSize})`);
  return { dim: cfg.dim, layers: cfg.layers, heads: cfg.heads, mlpRatio: cfg.mlpRatio, maxPositions: cfg.maxPositions, imageSize: cfg.imageSize, patchSize: cfg.patchSize, codebookSize: cfg.codebookSize, words: [...cfg.words], seed: cfg.seed, geometry: cfg.geometry ?? false, layoutMap: cfg.layoutMap ?? false, patchPixels: cfg.patchPixels ?? false, refReadout: cfg.refReadout ?? false, refRelations: cfg.refRelations ?? false, bidirectionalImage: cfg.bidirectionalImage ?? false, patchBoxes: cfg.patchBoxes ?? false, patchShapes: cfg.patchShapes ?? false, refNeighbours: cfg.refNeighbours ?? false, refNeighbourRadius: cfg.refNeighbourRadius };
}
