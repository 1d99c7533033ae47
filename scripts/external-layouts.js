#!/usr/bin/env node
// Layouts written outside the world generator (issue 15): a held-out set for the yardstick and the
// "Must show" numbers. The writing procedure here shares nothing with lib/data/generator.ts: its own
// random stream (mulberry32), its own sizes (any side 8-30 px, aspect 0.8-1.25), its own placement
// (half of the objects are put over an earlier one on purpose, same-colour objects next to or over
// each other, triangles partly covered), its own pixel test for visibility and its own expressions
// and captions, written as people write them ("a red circle, a blue square and a small green
// triangle."). The library is only the judge: every expression must resolve to exactly its object
// and every caption must hold under lib/data's relations on the drawn scene, or the scene is drawn
// again.
//
// The one readability rule (a layout writer's, not the world's): at least half of each object's
// pixels can be told apart, i.e. are on top and not shared with another object of the same colour.
// None of the world's other rules apply: visible pixels need not reach the four sides of the box,
// need not be one piece, and objects of the same colour may touch and overlap.
//
// Boxes are on the 64 px grid (integer pixels / 64), as someone writing for a 64x64 canvas would
// give them; off-grid boxes cap any detector's IoU through the renderer's rounding (see
// docs/world.md, "The yardstick").
//
// Usage (after `npx tsc -p tsconfig.json`):
//   node scripts/external-layouts.js [--n 200] [--seed 15] [--out bench/layouts]
// writes OUT/external.jsonl (captions with commas, a final period, some capitalised: needs the
// caption normalisation of issue 15 to be read by readLayouts/TextTokenizer) and
// OUT/external-bare.jsonl (the same scenes, captions as bare "and" chains: readable today), and
// prints the set's statistics as one JSON line.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const data = require('../dist/data');

const S = 64;
const SHAPES = ['circle', 'square', 'triangle'];
const COLORS = ['red', 'green', 'blue', 'yellow'];
const TEXTURES = ['striped', 'dotted'];

function args() {
  const a = process.argv.slice(2);
  const get = (name, dflt) => {
    const i = a.indexOf(`--${name}`);
    return i >= 0 ? a[i + 1] : dflt;
  };
  const n = Number(get('n', 200)), seed = Number(get('seed', 15));
  if (!Number.isInteger(n) || n < 1) throw new RangeError('--n must be a positive integer');
  if (!Number.isInteger(seed)) throw new RangeError('--seed must be an integer');
  return { n, seed, out: get('out', path.join(__dirname, '..', 'bench', 'layouts')) };
}

/** mulberry32: a small seeded stream of floats in [0,1). */
function rngOf(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6D2B79F5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    float: next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
    shuffle: (xs) => {
      const out = xs.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
  };
}

/** The writer's own idea of which pixels a shape covers: pixel centres inside the ideal shape. */
function inside(o, x, y) {
  const [x1, y1, x2, y2] = o.px;
  if (x < x1 || x >= x2 || y < y1 || y >= y2) return false;
  const w = x2 - x1, h = y2 - y1, u = x - x1 + 0.5, v = y - y1 + 0.5;
  if (o.shape === 'square') return true;
  if (o.shape === 'circle') {
    const dx = (u - w / 2) / (w / 2), dy = (v - h / 2) / (h / 2);
    return dx * dx + dy * dy <= 1;
  }
  return Math.abs(u - w / 2) <= (w * v) / h / 2 + 0.5;
}

/** Share of each object's pixels that can be told apart: on top, and no other object of its colour there. */
function distinguishable(objects) {
  return objects.map((o, i) => {
    let area = 0, seen = 0;
    for (let y = o.px[1]; y < o.px[3]; y++) {
      for (let x = o.px[0]; x < o.px[2]; x++) {
        if (!inside(o, x, y)) continue;
        area++;
        let ok = true;
        for (let j = 0; j < objects.length && ok; j++) {
          if (j === i || !inside(objects[j], x, y)) continue;
          if (j > i || objects[j].color === o.color) ok = false;
        }
        if (ok) seen++;
      }
    }
    return seen / area;
  });
}

function overlapPixels(a, b) {
  let n = 0;
  for (let y = Math.max(a.px[1], b.px[1]); y < Math.min(a.px[3], b.px[3]); y++) {
    for (let x = Math.max(a.px[0], b.px[0]); x < Math.min(a.px[2], b.px[2]); x++) if (inside(a, x, y) && inside(b, x, y)) n++;
  }
  return n;
}

const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

/** A box of w x h px centred near (cx, cy), kept on the canvas. */
function boxAt(cx, cy, w, h) {
  const x1 = clamp(Math.round(cx - w / 2), 0, S - w), y1 = clamp(Math.round(cy - h / 2), 0, S - h);
  return [x1, y1, x1 + w, y1 + h];
}

function newObject(rng, objects) {
  const side = rng.chance(0.45) ? rng.int(8, 15) : rng.int(16, 30);
  const aspect = Math.exp(rng.float() * Math.log(1.25 / 0.8)) * 0.8;
  const w = side, h = clamp(Math.round(side * aspect), 8, 32);
  const o = {
    shape: rng.pick(SHAPES), color: rng.pick(COLORS),
    texture: rng.chance(0.2) ? rng.pick(TEXTURES) : 'plain', px: null, mode: 'free',
  };
  const mode = objects.length === 0 ? 'free' : rng.pick(['free', 'over', 'over', 'same-colour']);
  if (mode === 'free') {
    o.px = boxAt(rng.float() * S, rng.float() * S, w, h);
    return o;
  }
  // Over an earlier object: centred near one of its corners or edge midpoints, so that it covers a
  // part of it (in front, since it is drawn later); a triangle is the preferred victim.
  const triangles = objects.filter((p) => p.shape === 'triangle');
  const under = triangles.length > 0 && rng.chance(0.5) ? rng.pick(triangles) : rng.pick(objects);
  const [x1, y1, x2, y2] = under.px;
  const ax = rng.pick([x1, (x1 + x2) / 2, x2]), ay = rng.pick([y1, (y1 + y2) / 2, y2]);
  if (mode === 'same-colour') {
    // The same colour, touching or overlapping: pushed out from the earlier object's centre by
    // about the sum of the half sides, give or take a few pixels.
    o.color = under.color;
    const cx = (x1 + x2) / 2, cy = (y1 + y2) / 2;
    const ang = rng.float() * 2 * Math.PI;
    const reach = ((x2 - x1) + w) / 2 * (0.6 + 0.45 * rng.float());
    o.px = boxAt(cx + Math.cos(ang) * reach, cy + Math.sin(ang) * reach, w, h);
  } else {
    o.px = boxAt(ax + (rng.float() - 0.5) * w * 0.5, ay + (rng.float() - 0.5) * h * 0.5, w, h);
  }
  o.mode = mode;
  return o;
}

// ---- words -------------------------------------------------------------------------------------

const sizeWord = (o) => (Math.sqrt((o.px[2] - o.px[0]) * (o.px[3] - o.px[1])) < 17 ? 'small' : 'large');

function describe(o, withSize) {
  const w = [];
  if (withSize) w.push(sizeWord(o));
  w.push(o.color);
  if (o.texture !== 'plain') w.push(o.texture);
  w.push(o.shape);
  return w.join(' ');
}

function fits(o, p, withSize) {
  return o.shape === p.shape && o.color === p.color && o.texture === p.texture && (!withSize || sizeWord(o) === sizeWord(p));
}

/** The relations between objects i and j that the writer sees as true (4 px between centres, or overlap for depth). */
function relationsBetween(objects, i, j) {
  const a = objects[i].px, b = objects[j].px;
  const ax = (a[0] + a[2]) / 2, ay = (a[1] + a[3]) / 2, bx = (b[0] + b[2]) / 2, by = (b[1] + b[3]) / 2;
  const out = [];
  if (bx - ax >= 4) out.push('left of');
  if (ax - bx >= 4) out.push('right of');
  if (by - ay >= 4) out.push('above');
  if (ay - by >= 4) out.push('below');
  if (overlapPixels(objects[i], objects[j]) >= 3) out.push(i > j ? 'in front of' : 'behind');
  return out;
}

/** An expression for object i that no other object fits, or null. */
function expressionFor(objects, i) {
  const o = objects[i];
  const others = (withSize) => objects.filter((p, k) => k !== i && fits(o, p, withSize)).length;
  if (others(false) === 0) return describe(o, false);
  if (others(true) === 0) return describe(o, true);
  for (let j = 0; j < objects.length; j++) {
    if (j === i) continue;
    const anchorSize = objects.filter((p, k) => k !== j && fits(objects[j], p, false)).length > 0;
    if (objects.filter((p, k) => k !== j && fits(objects[j], p, anchorSize)).length > 0) continue;
    for (const rel of relationsBetween(objects, i, j)) {
      const rivals = objects.filter((p, k) => k !== i && fits(o, p, false)
        && objects.some((q, m) => m !== k && fits(objects[j], q, anchorSize) && relationsBetween(objects, k, m).includes(rel)));
      if (rivals.length === 0) return `${describe(o, false)} ${rel} the ${describe(objects[j], anchorSize)}`;
    }
  }
  return null;
}

/** Clauses of a caption: every object once, some pairs linked by a relation that holds. */
function captionClauses(rng, objects) {
  const order = rng.shuffle(objects.map((_, i) => i));
  const mention = (i) => {
    const o = objects[i];
    const lookAlike = objects.some((p, k) => k !== i && fits(o, p, false));
    return `a ${describe(o, lookAlike || rng.chance(0.3))}`;
  };
  const clauses = [];
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (k + 1 < order.length && rng.chance(0.35)) {
      const rels = relationsBetween(objects, i, order[k + 1]);
      if (rels.length > 0) {
        clauses.push(`${mention(i)} ${rng.pick(rels)} ${mention(order[k + 1])}`);
        k++;
        continue;
      }
    }
    clauses.push(mention(i));
  }
  return clauses;
}

/** "C1, C2 and C3." with now and then an Oxford comma or a capital letter. */
function styled(rng, clauses) {
  let text;
  if (clauses.length === 1) text = clauses[0];
  else {
    const head = clauses.slice(0, -1).join(', ');
    const oxford = clauses.length > 2 && rng.chance(0.2) ? ',' : '';
    text = `${head}${oxford} and ${clauses[clauses.length - 1]}`;
  }
  if (rng.chance(0.3)) text = text[0].toUpperCase() + text.slice(1);
  return `${text}.`;
}

// ---- the judge ---------------------------------------------------------------------------------

function toLayout(objects, caption) {
  return {
    caption,
    objects: objects.map((o) => ({ expr: o.expr, box: o.px.map((v) => v / S) })),
  };
}

/** The library's verdict on a bare layout: parses, every expression picks out exactly its object, the caption holds. */
function judged(layout) {
  try {
    data.parseLayoutLine(data.formatLayout(layout));
  } catch {
    return false;
  }
  const scene = data.sceneFromLayout(layout);
  const view = data.drawnView(scene.objects);
  for (let i = 0; i < layout.objects.length; i++) {
    const r = data.resolveExpression(data.parseExpression(layout.objects[i].expr), scene.objects, view);
    if (r.length !== 1 || r[0] !== i) return false;
  }
  return data.captionHolds(data.parseCaption(layout.caption), scene.objects, view);
}

/** What the caption normalisation has to do to read a styled caption: lower-case, commas as "and", no final period. */
function normalised(caption) {
  return caption.toLowerCase().replace(/\.$/, '').replace(/,? and /g, ' and ').replace(/, /g, ' and ');
}

function writeScene(rng) {
  const r = rng.float();
  const n = r < 0.15 ? 1 : r < 0.45 ? 2 : r < 0.75 ? 3 : 4;
  const objects = [];
  for (let i = 0; i < n; i++) {
    let placed = false;
    for (let t = 0; t < 30 && !placed; t++) {
      const o = newObject(rng, objects);
      if (Math.min(...distinguishable([...objects, o])) >= 0.5) { objects.push(o); placed = true; }
    }
    if (!placed) return null;
  }
  for (let i = 0; i < n; i++) {
    objects[i].expr = expressionFor(objects, i);
    if (objects[i].expr === null) return null;
  }
  const clauses = captionClauses(rng, objects);
  const bare = toLayout(objects, clauses.join(' and '));
  if (!judged(bare)) return 'rejected';
  const styledCaption = styled(rng, clauses);
  if (normalised(styledCaption) !== bare.caption) throw new Error(`styled caption "${styledCaption}" does not normalise to "${bare.caption}"`);
  return { objects, bare, styled: { caption: styledCaption, objects: bare.objects } };
}

function stats(scenes) {
  let objects = 0, occluded = 0, sameColourTouching = 0, trianglesCovered = 0, minSeen = 1, sideHidden = 0;
  const counts = [0, 0, 0, 0, 0];
  for (const { objects: os } of scenes) {
    counts[os.length]++;
    objects += os.length;
    const seen = distinguishable(os);
    os.forEach((o, i) => {
      minSeen = Math.min(minSeen, seen[i]);
      const covered = os.some((p, j) => j > i && overlapPixels(o, p) > 0);
      if (covered) occluded++;
      if (covered && o.shape === 'triangle') trianglesCovered++;
      // Does some side of the box have no pixel of the object on top? (the box must then be guessed)
      const top = (x, y) => inside(o, x, y) && !os.some((p, j) => j > i && inside(p, x, y));
      const [x1, y1, x2, y2] = o.px;
      let l = false, rr = false, t = false, b = false;
      for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) {
        if (!top(x, y)) continue;
        if (x === x1) l = true;
        if (x === x2 - 1) rr = true;
        if (y === y1) t = true;
        if (y === y2 - 1) b = true;
      }
      if (!(l && rr && t && b)) sideHidden++;
    });
    for (let i = 0; i < os.length; i++) {
      for (let j = i + 1; j < os.length; j++) {
        if (os[i].color !== os[j].color) continue;
        const a = os[i].px, b = os[j].px;
        if (a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]) sameColourTouching++;
      }
    }
  }
  return {
    layouts: scenes.length, objects, byCount: { 1: counts[1], 2: counts[2], 3: counts[3], 4: counts[4] },
    partlyCovered: occluded, trianglesPartlyCovered: trianglesCovered, sameColourPairsTouchingOrOverlapping: sameColourTouching,
    objectsWithABoxSideHidden: sideHidden, leastDistinguishableShare: Number(minSeen.toFixed(3)),
  };
}

function main() {
  const o = args();
  const rng = rngOf(o.seed);
  const scenes = [];
  let rejected = 0, unplaceable = 0;
  while (scenes.length < o.n) {
    const s = writeScene(rng);
    if (s === null) unplaceable++;
    else if (s === 'rejected') rejected++;
    else scenes.push(s);
  }
  fs.mkdirSync(o.out, { recursive: true });
  const lines = (key) => scenes.map((s) => JSON.stringify(s[key])).join('\n') + '\n';
  fs.writeFileSync(path.join(o.out, 'external.jsonl'), lines('styled'));
  // The bare file goes through the library's own writer, which validates every line.
  data.writeLayouts(path.join(o.out, 'external-bare.jsonl'), scenes.map((s) => s.bare));
  console.log(JSON.stringify({ seed: o.seed, ...stats(scenes), redrawn: { judgedFalse: rejected, unplaceable } }));
}

main();
