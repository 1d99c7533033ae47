// The referring readout (config.refReadout): a grounding query attends from its expression to the
// image's patches and hands the coordinate pointer where the match lies (docs/design.md section 5).
//
// Without it the decoder learned to find "an object" and ignored which one was named: on two-object
// scenes its box landed on the named object at the rate of a coin (docs/training.md section 5). The
// readout is a short, explicit path for that binding:
//   query  = Wq · mean of the expression's word embeddings        (what is named: colour, texture, shape)
//   keys   = Wk · final hidden state of each image patch           (what each patch shows, in context)
//          + We · input embedding of each image patch's code        (its colour and texture, linearly)
//   values = Wv · Fourier features of each patch centre            (where each patch is)
//   r      = Wo · multi-head attention(query, keys, values)       (where the named thing is)
// r is added to the hidden state of each of the query's four coordinate rows before coordLogits. Wo
// starts at zero, so a model extended with the readout (--init) computes what it did before.
//
// Trained through the box loss alone the attention stayed where it started (after 335 steps, 10.9%
// of its mass on the named object and 10.0% on the other one), so a training sequence that holds the
// query's box also supervises the attention: -log of its mass on the patches inside the box
// (attentionLoss), MDETR's idea of aligning words with image regions, here with the box as the region.
// Two more findings from probes that trained the readout alone on frozen states (docs/training.md):
// keys from the final hidden states alone never told the named object from the other in 150 steps
// (the code embeddings did, so both feed the keys), and the scores learn 8x faster with a fixed gain
// on the query (QUERY_GAIN; its init is scaled down by as much, so the first scores are unchanged).
import { Tensor, tensor } from '../tensor';
import * as ops from '../autograd';
import { InitRng, Linear, Module } from '../nn';
import { TokenSequence, SEG_FIRST_QUERY, SEG_IMAGE_PREFIX } from './sequences';
import { SPECIAL_TOKENS } from './vocabulary';
import { GEO_FEATURES, geoEdgeValue, geoPatchIndex } from './geometry';

const REF = SPECIAL_TOKENS.indexOf('<ref>');
const END_REF = SPECIAL_TOKENS.indexOf('</ref>');

/** Where the grounding queries of a batch are: host arrays, built once per batch. */
export interface RefIndex {
  /** Number of queries. */
  count: number;
  /** Token ids of every query's expression words, query after query. */
  wordIds: Int32Array;
  /** [count, words] averaging weights (1/n over each query's n words). */
  wordMean: Float32Array;
  /** [count * patches] flat rows b*T + t of the image patches each query reads, in patch order. */
  patchRows: Int32Array;
  /** [count * patches] token ids of those patches (their codes' rows in the token table). */
  patchIds: Int32Array;
  /** Flat row b*T + t -> index of the query whose segment holds it (-1: none). */
  rowQuery: Int32Array;
  /**
   * [count * patches] 1 where the patch centre lies in the query's box (the nearest patch when none
   * does), when the sequence holds the box (training); null when no query has one (a prompt).
   */
  inBox: Float32Array | null;
}

/** Marks the patches (side x side grid) whose centres lie in box [x1, y1, x2, y2] at `at`; the nearest if none. */
function markBox(out: Float32Array, at: number, box: readonly number[], side: number): void {
  let any = false;
  for (let p = 0; p < side * side; p++) {
    const x = ((p % side) + 0.5) / side, y = (Math.floor(p / side) + 0.5) / side;
    if (x >= box[0] && x <= box[2] && y >= box[1] && y <= box[3]) { out[at + p] = 1; any = true; }
  }
  if (any) return;
  const cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
  const c = Math.min(side - 1, Math.floor(cx * side)), r = Math.min(side - 1, Math.floor(cy * side));
  out[at + r * side + c] = 1;
}

/**
 * The queries of sequences padded to length T: every segment >= SEG_FIRST_QUERY that opens with
 * <ref> words </ref>, reading the `patches` image codes of its sequence's segment SEG_IMAGE_PREFIX.
 * `shift[b]` offsets sequence b's rows (left padding in the incremental decoder).
 */
export function refIndex(seqs: readonly TokenSequence[], T: number, patches: number, shift?: readonly number[]): RefIndex {
  const words: number[] = [], owner: number[] = [], rows: number[] = [], ids: number[] = [], boxes: (number[] | null)[] = [];
  const rowQuery = new Int32Array(seqs.length * T).fill(-1);
  let count = 0;
  seqs.forEach((s, b) => {
    const base = b * T + (shift?.[b] ?? 0);
    const prefix: number[] = [], prefixIds: number[] = [];
    s.seg.forEach((g, t) => { if (g === SEG_IMAGE_PREFIX && geoPatchIndex(s.geo[t]) >= 0) { prefix.push(base + t); prefixIds.push(s.ids[t]); } });
    for (let t = 0; t < s.ids.length; t++) {
      if (s.seg[t] < SEG_FIRST_QUERY || s.ids[t] !== REF || (t > 0 && s.seg[t - 1] === s.seg[t])) continue;
      if (prefix.length !== patches) throw new RangeError(`refIndex: sequence ${b} has ${prefix.length} image patches in its prefix, expected ${patches}`);
      const seg = s.seg[t];
      let u = t + 1;
      for (; u < s.ids.length && s.ids[u] !== END_REF; u++) { words.push(s.ids[u]); owner.push(count); }
      for (let v = t; v < s.ids.length && s.seg[v] === seg; v++) rowQuery[base + v] = count;
      // After </ref>: <box> x1 y1 x2 y2, whose geometry ids name the edges (absent in a prompt).
      const edges = s.geo.slice(u + 2, u + 6).map(geoEdgeValue);
      boxes.push(edges.length === 4 && s.seg[u + 5] === seg && edges.every((e) => !Number.isNaN(e)) ? edges : null);
      rows.push(...prefix);
      ids.push(...prefixIds);
      count++;
    }
  });
  const wordMean = new Float32Array(count * words.length);
  const n = new Array<number>(count).fill(0);
  for (const q of owner) n[q]++;
  owner.forEach((q, w) => { wordMean[q * words.length + w] = 1 / n[q]; });
  let inBox: Float32Array | null = null;
  if (boxes.some((b) => b)) {
    inBox = new Float32Array(count * patches);
    const side = Math.round(Math.sqrt(patches));
    boxes.forEach((b, q) => { if (b) markBox(inBox as Float32Array, q * patches, b, side); });
  }
  return { count, wordIds: Int32Array.from(words), wordMean, patchRows: Int32Array.from(rows), patchIds: Int32Array.from(ids), rowQuery, inBox };
}

/** The fixed gain on the readout's query (see the header). */
export const QUERY_GAIN = 8;

export class RefReadout extends Module {
  readonly dim: number;
  readonly heads: number;
  readonly query: Linear;
  readonly key: Linear;
  readonly keyEmbed: Linear;
  readonly value: Linear;
  readonly out: Linear;

  constructor(dim: number, heads: number, rng: InitRng) {
    super();
    this.dim = dim;
    this.heads = heads;
    this.query = this.addModule('query', new Linear(dim, dim, { bias: false, rng: rng.fork(), std: 1 / (QUERY_GAIN * Math.sqrt(dim)) }));
    this.key = this.addModule('key', new Linear(dim, dim, { bias: false, rng: rng.fork() }));
    this.keyEmbed = this.addModule('keyEmbed', new Linear(dim, dim, { bias: false, rng: rng.fork() }));
    this.value = this.addModule('value', new Linear(GEO_FEATURES, dim, { bias: false, rng: rng.fork() }));
    this.out = this.addModule('out', new Linear(dim, dim, { bias: false, rng: rng.fork(), std: 0 }));
  }

  /**
   * r [count, dim] for the queries of `index`: hidden [rows, dim] are the final hidden states the
   * index's rows point into, tokenTable [V, dim] the token embeddings (words and codes), patchGeo [patches, GEO_FEATURES]
   * the fixed Fourier features of the patch centres.
   */
  forward(hidden: Tensor, tokenTable: Tensor, patchGeo: Tensor, index: RefIndex): Tensor {
    return this.read(hidden, tokenTable, patchGeo, index).r;
  }

  /**
   * forward's r and, when the index holds the queries' boxes, the attention loss: the mean over
   * those queries of -log(mean over heads of the attention mass inside the box). The mass is a
   * second pass of the fused kernel with the box indicator as the values.
   */
  read(hidden: Tensor, tokenTable: Tensor, patchGeo: Tensor, index: RefIndex): { r: Tensor; attentionLoss: Tensor | null } {
    const Q = index.count, W = index.wordIds.length, N = patchGeo.shape[0], H = this.heads, d = this.dim / H;
    const dev = hidden.device;
    const words = ops.embedding(tokenTable, tensor(index.wordIds, [W], { dtype: 'i32', device: dev }));
    const expr = ops.matmul(tensor(index.wordMean, [Q, W], { device: dev }), words);
    const split = (x: Tensor, t: number): Tensor => ops.permute(ops.reshape(x, [Q, t, H, d]), [0, 2, 1, 3]);
    const q = split(ops.scale(this.query.forward(expr), QUERY_GAIN), 1);
    const shows = this.key.forward(ops.gatherRows(hidden, tensor(index.patchRows, [Q * N], { dtype: 'i32', device: dev })));
    const codes = this.keyEmbed.forward(ops.embedding(tokenTable, tensor(index.patchIds, [Q * N], { dtype: 'i32', device: dev })));
    const k = split(ops.add(shows, codes), N);
    const where = this.value.forward(patchGeo);
    const tiled = new Int32Array(Q * N).map((_, i) => i % N);
    const v = split(ops.embedding(where, tensor(tiled, [Q * N], { dtype: 'i32', device: dev })), N);
    const read = ops.reshape(ops.permute(ops.attention(q, k, v), [0, 2, 1, 3]), [Q, this.dim]);
    return { r: this.out.forward(read), attentionLoss: index.inBox ? this.attentionLoss(q, k, index.inBox, Q, N) : null };
  }

  private attentionLoss(q: Tensor, k: Tensor, inBox: Float32Array, Q: number, N: number): Tensor {
    const H = this.heads, d = this.dim / H, dev = q.device;
    const ind = new Float32Array(Q * H * N * d);
    const supervised: number[] = [];
    for (let i = 0; i < Q; i++) {
      let any = false;
      for (let p = 0; p < N; p++) if (inBox[i * N + p]) { any = true; for (let h = 0; h < H; h++) ind.fill(1, ((i * H + h) * N + p) * d, ((i * H + h) * N + p + 1) * d); }
      if (any) supervised.push(i);
    }
    // mass [Q, H, 1, d] (equal along d) -> mean over d, then over heads -> [Q, 1].
    const mass = ops.attention(q, k, tensor(ind, [Q, H, N, d], { device: dev }));
    const heads = ops.meanLastDim(ops.reshape(ops.meanLastDim(ops.reshape(mass, [Q * H, d])), [Q, H]));
    const rows = ops.gatherRows(ops.reshape(heads, [Q, 1]), tensor(Int32Array.from(supervised), [supervised.length], { dtype: 'i32', device: dev }));
    return ops.scale(ops.sum(ops.log(ops.addScalar(rows, 1e-4))), -1 / supervised.length);
  }
}
