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
//
// Relations (config.refRelations). A bag of words cannot tell "the red square left of the blue
// circle" from "the blue circle right of the red square": the readout found the named object of a
// relational expression half the time (docs/training.md section 9). With relations on, the
// expression is read in two hops:
//   hop 1  a = the same attention with the query of the anchor's words (after the relation phrase):
//            where the anchor is, in the value space (Fourier features of patch centres)
//   hop 2  the target's query (the words before the phrase) gains a second part U_rel a, and every
//            key a second part Wp · Fourier features of its patch centre, so a score is
//            content(target words, patch) + (U_rel a) . (Wp geo(patch))
// A bilinear form of Fourier features of two positions can express a soft step of their difference
// (sin f(x - x') = sin fx cos fx' - cos fx sin fx'), which is what "left of" is. U_rel starts at
// zero, so the scores start as the bag of the target's words; the attention loss on the target's
// box trains U_rel, Wp and, through a, hop 1.
//
// Neighbours (config.refNeighbours). Where two objects of one colour touch, the render shows one
// region of that colour; the patches inside it have the same code, and a patch's final state has seen
// only the patches before it in raster order. With neighbours on, every key gains a part read from the
// codes of the 24 patches around it (5x5, both ways):
//   k += Wn2 · concat over the offsets (dr, dc) of Wn1 · e(code at (r + dr, c + dc))   (0 off the grid)
// so the key of a patch can say "a straight edge two patches below me" whatever the raster order. Wn2
// starts at zero: the keys start as without it.
import { Tensor, tensor } from '../tensor';
import * as ops from '../autograd';
import { InitRng, Linear, Module } from '../nn';
import { TokenSequence, SEG_FIRST_QUERY, SEG_IMAGE_PREFIX } from './sequences';
import { SPECIAL_TOKENS } from './vocabulary';
import { GEO_FEATURES, geoEdgeValue, geoPatchIndex } from './geometry';
import { RELATIONS } from '../data/vocab';

const REF = SPECIAL_TOKENS.indexOf('<ref>');
const END_REF = SPECIAL_TOKENS.indexOf('</ref>');

/** Where the grounding queries of a batch are: host arrays, built once per batch. */
export interface RefIndex {
  /** Number of queries. */
  count: number;
  /** Token ids of every query's expression words, query after query. */
  wordIds: Int32Array;
  /**
   * [count, words] averaging weights (1/n over each query's n words; with relation phrases, over the
   * target's words before the phrase).
   */
  wordMean: Float32Array;
  /** [count] index into RELATIONS of each query's relation phrase, -1 for none (or no phrases given). */
  relation: Int32Array;
  /** [count, words] averaging weights over the anchor's words after the phrase (0 rows without one); null when no query has a relation. */
  anchorMean: Float32Array | null;
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

/** Token ids of each relation phrase, in RELATIONS order (null where the vocabulary lacks a word). */
export type RelationPhrases = readonly (readonly number[] | null)[];

/** The first relation phrase in words[from, to): its RELATIONS index and position, or null. */
function findRelation(ids: readonly number[], from: number, to: number, phrases: RelationPhrases): { rel: number; at: number; len: number } | null {
  for (let t = from; t < to; t++) {
    for (let r = 0; r < phrases.length; r++) {
      const p = phrases[r];
      if (p && t + p.length <= to && p.every((id, j) => ids[t + j] === id)) return { rel: r, at: t, len: p.length };
    }
  }
  return null;
}

/**
 * The queries of sequences padded to length T: every segment >= SEG_FIRST_QUERY that opens with
 * <ref> words </ref>, reading the `patches` image codes of its sequence's segment SEG_IMAGE_PREFIX.
 * `shift[b]` offsets sequence b's rows (left padding in the incremental decoder). With `relations`,
 * an expression holding a relation phrase is split into the target's words (before it) and the
 * anchor's (after it).
 */
export function refIndex(seqs: readonly TokenSequence[], T: number, patches: number, shift?: readonly number[], relations?: RelationPhrases): RefIndex {
  const words: number[] = [], owner: number[] = [], anchorOf: boolean[] = [], rels: number[] = [], rows: number[] = [], ids: number[] = [], boxes: (number[] | null)[] = [];
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
      while (u < s.ids.length && s.ids[u] !== END_REF) u++;
      const found = relations ? findRelation(s.ids, t + 1, u, relations) : null;
      for (let w = t + 1; w < u; w++) {
        if (found && w >= found.at && w < found.at + found.len) continue;
        words.push(s.ids[w]);
        owner.push(count);
        anchorOf.push(found !== null && w >= found.at + found.len);
      }
      rels.push(found ? found.rel : -1);
      for (let v = t; v < s.ids.length && s.seg[v] === seg; v++) rowQuery[base + v] = count;
      // After </ref>: <box> x1 y1 x2 y2, whose geometry ids name the edges (absent in a prompt).
      const edges = s.geo.slice(u + 2, u + 6).map(geoEdgeValue);
      boxes.push(edges.length === 4 && s.seg[u + 5] === seg && edges.every((e) => !Number.isNaN(e)) ? edges : null);
      rows.push(...prefix);
      ids.push(...prefixIds);
      count++;
    }
  });
  const W = words.length;
  const mean = (side: boolean): Float32Array => {
    const out = new Float32Array(count * W);
    const n = new Array<number>(count).fill(0);
    owner.forEach((q, w) => { if (anchorOf[w] === side) n[q]++; });
    owner.forEach((q, w) => { if (anchorOf[w] === side) out[q * W + w] = 1 / n[q]; });
    return out;
  };
  const relation = Int32Array.from(rels);
  let inBox: Float32Array | null = null;
  if (boxes.some((b) => b)) {
    inBox = new Float32Array(count * patches);
    const side = Math.round(Math.sqrt(patches));
    boxes.forEach((b, q) => { if (b) markBox(inBox as Float32Array, q * patches, b, side); });
  }
  return {
    count, wordIds: Int32Array.from(words), wordMean: mean(false), relation, anchorMean: relation.some((r) => r >= 0) ? mean(true) : null, patchRows: Int32Array.from(rows), patchIds: Int32Array.from(ids), rowQuery, inBox,
  };
}

/** The fixed gain on the readout's query (see the header). */
export const QUERY_GAIN = 8;

/** With neighbours: the neighbourhood's default radius in patches (5x5), and the width each neighbour's code is read at. */
export const NEIGHBOUR_RADIUS = 2;
export const NEIGHBOUR_DIM = 32;
/** The neighbours of a patch at a radius: the (2r + 1)^2 square without the patch. */
export const neighbourCount = (radius: number): number => (2 * radius + 1) ** 2 - 1;

/**
 * For `count` queries of side x side patches each: [count * side^2 * neighbourCount(radius)] rows into
 * the queries' patch rows (q * side^2 + p) of every patch's neighbours in raster order of the offsets
 * (the patch itself skipped), and count * side^2 (a zero row) where a neighbour is off the grid.
 */
export function neighbourRows(count: number, side: number, radius = NEIGHBOUR_RADIUS): Int32Array {
  const N = side * side, out = new Int32Array(count * N * neighbourCount(radius));
  let at = 0;
  for (let q = 0; q < count; q++) {
    for (let p = 0; p < N; p++) {
      const r = Math.floor(p / side), c = p % side;
      for (let dr = -radius; dr <= radius; dr++) {
        for (let dc = -radius; dc <= radius; dc++) {
          if (dr === 0 && dc === 0) continue;
          const rr = r + dr, cc = c + dc;
          out[at++] = rr >= 0 && rr < side && cc >= 0 && cc < side ? q * N + rr * side + cc : count * N;
        }
      }
    }
  }
  return out;
}

/**
 * The distinct image prefixes among `count` queries of `patches` patches each: the queries of one
 * sequence read the same rows and codes, and a key depends on nothing else, so the keys are computed
 * once a prefix. `rows`/`ids`: the prefixes' patch rows and token ids, [prefixes * patches], in order
 * of first use; `expand`: [count * patches] each query's patch p -> its prefix's row of the keys,
 * or null when every query has its own prefix.
 */
export function distinctPrefixes(patchRows: Int32Array, patchIds: Int32Array, count: number, patches: number): { prefixes: number; rows: Int32Array; ids: Int32Array; expand: Int32Array | null } {
  const first: number[] = [], of = new Int32Array(count);
  const same = (a: number, b: number): boolean => {
    for (let p = 0; p < patches; p++) if (patchRows[a * patches + p] !== patchRows[b * patches + p] || patchIds[a * patches + p] !== patchIds[b * patches + p]) return false;
    return true;
  };
  for (let q = 0; q < count; q++) {
    let u = first.length - 1;
    while (u >= 0 && !same(first[u], q)) u--;
    if (u < 0) { u = first.length; first.push(q); }
    of[q] = u;
  }
  if (first.length === count) return { prefixes: count, rows: patchRows, ids: patchIds, expand: null };
  const pick = (src: Int32Array): Int32Array => {
    const out = new Int32Array(first.length * patches);
    first.forEach((q, u) => out.set(src.subarray(q * patches, (q + 1) * patches), u * patches));
    return out;
  };
  const expand = new Int32Array(count * patches);
  for (let q = 0; q < count; q++) for (let p = 0; p < patches; p++) expand[q * patches + p] = of[q] * patches + p;
  return { prefixes: first.length, rows: pick(patchRows), ids: pick(patchIds), expand };
}

export class RefReadout extends Module {
  readonly dim: number;
  readonly heads: number;
  readonly query: Linear;
  readonly key: Linear;
  readonly keyEmbed: Linear;
  readonly value: Linear;
  readonly out: Linear;
  /** With relations (see the header): U_rel for every relation, stacked [RELATIONS * dim, dim]; starts at zero. */
  readonly relation: Linear | null = null;
  /** With relations: Wp, the position part of the keys from the patch centres' Fourier features. */
  readonly keyPos: Linear | null = null;
  /** With neighbours (see the header): Wn1, each neighbour's code embedding at NEIGHBOUR_DIM. */
  readonly neighbourIn: Linear | null = null;
  /** With neighbours: Wn2, the concatenated neighbours to a key part; starts at zero. */
  readonly neighbourOut: Linear | null = null;
  /** With neighbours: the patches a side, and the neighbourhood's radius. */
  readonly side: number = 0;
  readonly radius: number = NEIGHBOUR_RADIUS;
  private sharpenBy = 1;
  /**
   * Multiplies forward's attention scores (not the attention loss's); 1 as trained. An inference
   * probe (bench/profile/readout_probes.js): larger values make the readout choose harder between
   * the patches its query matches.
   */
  get sharpen(): number { return this.sharpenBy; }
  set sharpen(s: number) {
    if (!(typeof s === 'number' && Number.isFinite(s) && s > 0)) throw new RangeError(`RefReadout.sharpen must be a positive finite number, got ${String(s)}`);
    this.sharpenBy = s;
  }

  /**
   * opts.neighbours: the patches a side of the image grid, to read each key's neighbourhood (absent: no
   * neighbours); opts.radius: its radius in patches (absent: NEIGHBOUR_RADIUS).
   */
  constructor(dim: number, heads: number, rng: InitRng, opts: { relations?: boolean; neighbours?: number; radius?: number } = {}) {
    super();
    this.dim = dim;
    this.heads = heads;
    this.query = this.addModule('query', new Linear(dim, dim, { bias: false, rng: rng.fork(), std: 1 / (QUERY_GAIN * Math.sqrt(dim)) }));
    this.key = this.addModule('key', new Linear(dim, dim, { bias: false, rng: rng.fork() }));
    this.keyEmbed = this.addModule('keyEmbed', new Linear(dim, dim, { bias: false, rng: rng.fork() }));
    this.value = this.addModule('value', new Linear(GEO_FEATURES, dim, { bias: false, rng: rng.fork() }));
    this.out = this.addModule('out', new Linear(dim, dim, { bias: false, rng: rng.fork(), std: 0 }));
    if (opts.relations) {
      this.relation = this.addModule('relation', new Linear(dim, RELATIONS.length * dim, { bias: false, rng: rng.fork(), std: 0 }));
      this.keyPos = this.addModule('keyPos', new Linear(GEO_FEATURES, dim, { bias: false, rng: rng.fork() }));
    }
    if (opts.neighbours !== undefined) {
      if (!Number.isInteger(opts.neighbours) || opts.neighbours < 1) throw new RangeError(`RefReadout: neighbours must be the grid's side in patches, got ${opts.neighbours}`);
      const radius = opts.radius ?? NEIGHBOUR_RADIUS;
      if (!Number.isInteger(radius) || radius < 1) throw new RangeError(`RefReadout: radius must be a positive integer, got ${radius}`);
      this.side = opts.neighbours;
      this.radius = radius;
      this.neighbourIn = this.addModule('neighbourIn', new Linear(dim, NEIGHBOUR_DIM, { bias: false, rng: rng.fork() }));
      this.neighbourOut = this.addModule('neighbourOut', new Linear(neighbourCount(radius) * NEIGHBOUR_DIM, dim, { bias: false, rng: rng.fork(), std: 0 }));
    }
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
    const split = (x: Tensor, t: number): Tensor => ops.permute(ops.reshape(x, [Q, t, H, d]), [0, 2, 1, 3]);
    const ask = (mean: Float32Array): Tensor => split(ops.scale(this.query.forward(ops.matmul(tensor(mean, [Q, W], { device: dev }), words)), QUERY_GAIN), 1);
    const merge = (x: Tensor): Tensor => ops.reshape(ops.permute(x, [0, 2, 1, 3]), [Q, this.dim]);
    const tiled = tensor(new Int32Array(Q * N).map((_, i) => i % N), [Q * N], { dtype: 'i32', device: dev });
    const perPatch = (table: Tensor): Tensor => split(ops.embedding(table, tiled), N);
    let q = ask(index.wordMean);
    let k = split(this.keys(hidden, tokenTable, index, N), N);
    let v = perPatch(this.value.forward(patchGeo));
    const scale = 1 / Math.sqrt(d);
    if (this.relation && this.keyPos && index.anchorMean) {
      // Hop 1: where the anchor is; hop 2: the target's scores gain (U_rel a) . (Wp geo(patch)).
      const anchor = merge(ops.attention(ask(index.anchorMean), k, v));
      const R = RELATIONS.length;
      const stacked = ops.concat([ops.reshape(this.relation.forward(anchor), [Q * R, this.dim]), tensor(new Float32Array(this.dim), [1, this.dim], { device: dev })], 0);
      const pick = Int32Array.from(index.relation, (r, i) => (r < 0 ? Q * R : i * R + r));
      q = ops.concat([q, split(ops.gatherRows(stacked, tensor(pick, [Q], { dtype: 'i32', device: dev })), 1)], 3);
      k = ops.concat([k, perPatch(this.keyPos.forward(patchGeo))], 3);
      v = ops.concat([v, tensor(new Float32Array(Q * H * N * d), [Q, H, N, d], { device: dev })], 3);
    }
    const read = ops.attention(q, k, v, { scale: scale * this.sharpen });
    const r = this.out.forward(merge(q.shape[3] === d ? read : ops.slice(read, 3, 0, d)));
    return { r, attentionLoss: index.inBox ? this.attentionLoss(q, k, scale, index.inBox, Q, N) : null };
  }

  /** The keys [count * N, dim] of the queries' patches, computed once for each distinct image prefix. */
  private keys(hidden: Tensor, tokenTable: Tensor, index: RefIndex, N: number): Tensor {
    const dev = hidden.device, rows = (a: Int32Array): Tensor => tensor(a, [a.length], { dtype: 'i32', device: dev });
    const { prefixes: U, rows: patchRows, ids, expand } = distinctPrefixes(index.patchRows, index.patchIds, index.count, N);
    const shows = this.key.forward(ops.gatherRows(hidden, rows(patchRows)));
    const patchCodes = ops.embedding(tokenTable, rows(ids));
    let keys = ops.add(shows, this.keyEmbed.forward(patchCodes));
    if (this.neighbourIn && this.neighbourOut) {
      if (N !== this.side * this.side) throw new RangeError(`RefReadout: ${N} patches a query, expected ${this.side}x${this.side}`);
      const padded = ops.concat([this.neighbourIn.forward(patchCodes), tensor(new Float32Array(NEIGHBOUR_DIM), [1, NEIGHBOUR_DIM], { device: dev })], 0);
      const around = ops.gatherRows(padded, rows(neighbourRows(U, this.side, this.radius)));
      keys = ops.add(keys, this.neighbourOut.forward(ops.reshape(around, [U * N, neighbourCount(this.radius) * NEIGHBOUR_DIM])));
    }
    return expand ? ops.gatherRows(keys, rows(expand)) : keys;
  }

  private attentionLoss(q: Tensor, k: Tensor, scale: number, inBox: Float32Array, Q: number, N: number): Tensor {
    const H = this.heads, d = q.shape[3], dev = q.device;
    const ind = new Float32Array(Q * H * N * d);
    const supervised: number[] = [];
    for (let i = 0; i < Q; i++) {
      let any = false;
      for (let p = 0; p < N; p++) if (inBox[i * N + p]) { any = true; for (let h = 0; h < H; h++) ind.fill(1, ((i * H + h) * N + p) * d, ((i * H + h) * N + p + 1) * d); }
      if (any) supervised.push(i);
    }
    // mass [Q, H, 1, d] (equal along d) -> mean over d, then over heads -> [Q, 1].
    const mass = ops.attention(q, k, tensor(ind, [Q, H, N, d], { device: dev }), { scale });
    const heads = ops.meanLastDim(ops.reshape(ops.meanLastDim(ops.reshape(mass, [Q * H, d])), [Q, H]));
    const rows = ops.gatherRows(ops.reshape(heads, [Q, 1]), tensor(Int32Array.from(supervised), [supervised.length], { dtype: 'i32', device: dev }));
    return ops.scale(ops.sum(ops.log(ops.addScalar(rows, 1e-4))), -1 / supervised.length);
  }
}
