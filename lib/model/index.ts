// lib/model: tokenizers (text, layout, VQ image) and the unified EchoGen decoder (docs/design.md section 5).
export { TextTokenizer, editDistance } from './text_tokenizer';
export { COORD_BINS, quantizeBox, dequantizeBox } from './layout_tokens';
export type { Box } from './layout_tokens';
export { Vocabulary, SPECIAL_TOKENS } from './vocabulary';
export type { SpecialToken } from './vocabulary';
export {
  LossHead, SEG_L2I, SEG_IMAGE_PREFIX, SEG_FIRST_QUERY, segmentSees,
  l2iPrompt, l2iSequence, i2lPrompt, i2lSequence, pmtpSequence,
} from './sequences';
export type { Layout, LayoutObject, TokenSequence } from './sequences';
export { collate, buildMask, disposeBatch } from './batch';
export type { Batch } from './batch';
export { PatchVq, kMeans } from './vq_tokenizer';
export type { PatchVqConfig, KMeansOptions } from './vq_tokenizer';
export { presets, checkConfig, MODEL_FLAGS, withFlags } from './config';
export type { EchoGenConfig, ModelFlag, ModelShape, PresetName } from './config';
export { EchoGen, GROUND_L2I_WEIGHT } from './echogen';
export type { GenerateOptions, GenerateResult, Losses, RunOptions, GroundOptions, SampleBoxesOptions, SampledBox } from './echogen';
export { IncrementalDecoder, withDecoder } from './decoder';
export { readSafetensors, writeSafetensors, CheckpointError } from './safetensors';
export type { SafetensorsFile } from './safetensors';
export { saveCheckpoint, loadCheckpoint, WEIGHTS_FILE, CONFIG_FILE, CODEBOOK_KEY } from './checkpoint';
export { imagesToTensor, tensorToImages, psnr } from './images';
export { GEO_FEATURES, GEO_FREQUENCIES, GEO_NONE, boxGeo, geoPatch, geoTable, geoXEdge, geoYEdge } from './geometry';
