// The referring readout (config.refReadout): a grounding query attends from its expression to the
// image's patches and hands the coordinate pointer where the match lies (docs/design.md section 5).
//
// Without it the decoder learned to find "an object" and ignored which one was named: on two-object
// scenes its box landed on the named object at the rate of a coin (docs/training.md section 5). The
// readout is a short, explicit path for that binding:
//   query  = Wq · mean of the expression's word embeddings        (what is named: colour, texture, shape)
//   keys   = Wk · final hidden state of each image patch           (what each patch shows, in context)
//   values = Wv · Fourier features of each patch centre            (where each patch is)
//   r      = Wo · multi-head attention(query, keys, values)       (where the named thing is)
// r is added to the hidden state of each of the query's four coordinate rows before coordLogits. Wo
// starts at zero, so a model extended with the readout (--init) computes what it did before.
import { Tensor, tensor } from '../tensor';
import * as ops from '../autograd';
import { InitRng, Linear, Module } from '../nn';
import { TokenSequence, SEG_FIRST_QUERY, SEG_IMAGE_PREFIX } from './sequences';
import { SPECIAL_TOKENS } from './vocabulary';
import { GEO_FEATURES, geoPatchIndex } from './geometry';

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
  /** Flat row b*T + t -> index of the query whose segment holds it (-1: none). */
  rowQuery: Int32Array;
}

/**
 * The queries of sequences padded to length T: every segment >= SEG_FIRST_QUERY that opens with
 * <ref> words </ref>, reading the `patches` image codes of its sequence's segment SEG_IMAGE_PREFIX.
 * `shift[b]` offsets sequence b's rows (left padding in the incremental decoder).
 */
export function refIndex(seqs: readonly TokenSequence[], T: number, patches: number, shift?: readonly number[]): RefIndex {
  const words: number[] = [], owner: number[] = [], rows: number[] = [];
  const rowQuery = new Int32Array(seqs.length * T).fill(-1);
  let count = 0;
  seqs.forEach((s, b) => {
    const base = b * T + (shift?.[b] ?? 0);
    const prefix: number[] = [];
    s.seg.forEach((g, t) => { if (g === SEG_IMAGE_PREFIX && geoPatchIndex(s.geo[t]) >= 0) prefix.push(base + t); });
    for (let t = 0; t < s.ids.length; t++) {
      if (s.seg[t] < SEG_FIRST_QUERY || s.ids[t] !== REF || (t > 0 && s.seg[t - 1] === s.seg[t])) continue;
      if (prefix.length !== patches) throw new RangeError(`refIndex: sequence ${b} has ${prefix.length} image patches in its prefix, expected ${patches}`);
      const seg = s.seg[t];
      let u = t + 1;
      for (; u < s.ids.length && s.ids[u] !== END_REF; u++) { words.push(s.ids[u]); owner.push(count); }
      for (let v = t; v < s.ids.length && s.seg[v] === seg; v++) rowQuery[base + v] = count;
      rows.push(...prefix);
      count++;
    }
  });
  const wordMean = new Float32Array(count * words.length);
  const n = new Array<number>(count).fill(0);
  for (const q of owner) n[q]++;
  owner.forEach((q, w) => { wordMean[q * words.length + w] = 1 / n[q]; });
  return { count, wordIds: Int32Array.from(words), wordMean, patchRows: Int32Array.from(rows), rowQuery };
}

export class RefReadout extends Module {
  readonly dim: number;
  readonly heads: number;
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly out: Linear;

  constructor(dim: number, heads: number, rng: InitRng) {
    super();
    this.dim = dim;
    this.heads = heads;
    this.query = this.addModule('query', new Linear(dim, dim, { bias: false, rng: rng.fork() }));
    this.key = this.addModule('key', new Linear(dim, dim, { bias: false, rng: rng.fork() }));
    this.value = this.addModule('value', new Linear(GEO_FEATURES, dim, { bias: false, rng: rng.fork() }));
    this.out = this.addModule('out', new Linear(dim, dim, { bias: false, rng: rng.fork(), std: 0 }));
  }

  /**
   * r [count, dim] for the queries of `index`: hidden [rows, dim] are the final hidden states the
   * index's rows point into, tokenTable [V, dim] the word embeddings, patchGeo [patches, GEO_FEATURES]
   * the fixed Fourier features of the patch centres.
   */
  forward(hidden: Tensor, tokenTable: Tensor, patchGeo: Tensor, index: RefIndex): Tensor {
    const Q = index.count, W = index.wordIds.length, N = patchGeo.shape[0], H = this.heads, d = this.dim / H;
    const dev = hidden.device;
    const words = ops.embedding(tokenTable, tensor(index.wordIds, [W], { dtype: 'i32', device: dev }));
    const expr = ops.matmul(tensor(index.wordMean, [Q, W], { device: dev }), words);
    const split = (x: Tensor, t: number): Tensor => ops.permute(ops.reshape(x, [Q, t, H, d]), [0, 2, 1, 3]);
    const q = split(this.query.forward(expr), 1);
    const k = split(this.key.forward(ops.gatherRows(hidden, tensor(index.patchRows, [Q * N], { dtype: 'i32', device: dev }))), N);
    const where = this.value.forward(patchGeo);
    const tiled = new Int32Array(Q * N).map((_, i) => i % N);
    const v = split(ops.embedding(where, tensor(tiled, [Q * N], { dtype: 'i32', device: dev })), N);
    const read = ops.reshape(ops.permute(ops.attention(q, k, v), [0, 2, 1, 3]), [Q, this.dim]);
    return this.out.forward(read);
  }
}
