// The patch-box task (config.patchBoxes; lib/model/patch_boxes.ts): which object each patch shows,
// hand-computed on squares laid on the patch grid; the targets a batch indexes; and a tiny model that
// learns the task on world scenes (its loss falls well below chance).
import * as eg from '../../lib';
import { patchOwners, patchBoxIndex } from '../../lib/model/patch_boxes';
import { fittedScenes } from './helpers';

const { ops } = eg;
const M = eg.model;

describe('patch-box task', () => {
  test('patchOwners: the object owning at least a quarter of a patch, the later one where they overlap', () => {
    // 16 patches a side (4 px each). Two red squares touching at x = 16 px, a blue square over both drawn last.
    const layout: eg.model.Layout = { caption: 'x', objects: [
      { expr: 'red square', box: [0, 0, 0.25, 0.25] },
      { expr: 'red square', box: [0.25, 0, 0.5, 0.25] },
      { expr: 'blue square', box: [0.125, 0.125, 0.375, 0.375] },
      { expr: 'green square', box: [0.75, 0.75, 0.78125, 0.78125] },  // 2 x 2 px: a quarter of one patch
    ] };
    const own = patchOwners(layout, 16);
    const want = new Int32Array(256).fill(-1);
    for (let r = 0; r < 4; r++) for (let c = 0; c < 8; c++) want[r * 16 + c] = c < 4 ? 0 : 1;
    for (let r = 2; r < 6; r++) for (let c = 2; c < 6; c++) want[r * 16 + c] = 2;
    want[12 * 16 + 12] = 3;  // 4 of the patch's 16 pixels: exactly a quarter
    expect(Array.from(own)).toEqual(Array.from(want));
    // A tenth of a patch is not enough: a 1 x 1 px object owns no patch.
    expect(Array.from(patchOwners({ caption: 'x', objects: [{ expr: 'red square', box: [0.5, 0.5, 0.515625, 0.515625] }] }, 16)).every((o) => o === -1)).toBe(true);
    // 8 x 8 px patches (the tiny preset): the red squares own rows 0-1, columns 0-1 and 2-3; the blue one (pixels
    // 8-24 both ways) takes patches (1,1), (1,2), (2,1), (2,2) whole.
    const own8 = patchOwners(layout, 8);
    expect([own8[0], own8[1], own8[2], own8[3], own8[8], own8[9], own8[10], own8[11], own8[17], own8[18], own8[19]]).toEqual([0, 0, 1, 1, 0, 2, 2, 1, 2, 2, -1]);
    expect(() => patchOwners(layout, 7)).toThrow(/7 patches a side do not divide the 64-pixel canvas/);
  });

  test('patchBoxIndex: the prefix rows of every sequence with a layout, and the quantized box of each owner', () => {
    const v = new M.Vocabulary(eg.data.VOCAB, 16);
    const layout: eg.model.Layout = { caption: 'a red square and a blue circle', objects: [
      { expr: 'red square', box: [0, 0, 0.25, 0.25] }, { expr: 'blue circle', box: [0.5, 0.5, 1, 1] }] };
    const codes = Array.from({ length: 256 }, (_, i) => i % 16);
    const s = M.pmtpSequence(v, layout, codes);
    const l2i = M.l2iSequence(v, layout, codes);  // no image prefix: no rows
    const T = s.ids.length + 3;
    const idx = patchBoxIndex([l2i, s], T, 16)!;
    const own = patchOwners(layout, 16);
    const start = s.seg.indexOf(1) + 2;  // <i2l> <img> then the codes
    const want = Array.from(own).flatMap((o, p) => (o >= 0 ? [T + start + p] : []));
    expect(Array.from(idx.rows)).toEqual(want);
    expect(idx.count).toBe(16 + Array.from(own).filter((o) => o === 1).length);
    const boxOf = Array.from(own).flatMap((o) => (o >= 0 ? [M.quantizeBox(layout.objects[o].box)] : []));
    for (let k = 0; k < 4; k++) expect(Array.from(idx.bins.subarray(k * idx.count, (k + 1) * idx.count))).toEqual(boxOf.map((b) => b[k]));
    expect(Array.from(idx.bins.subarray(0, 16))).toEqual(new Array(16).fill(0));
    expect(Array.from(idx.shapes)).toEqual(Array.from(own).flatMap((o) => (o < 0 ? [] : [o === 0 ? 1 : 0])));  // square = 1, circle = 0
    expect(patchBoxIndex([l2i], T, 16)).toBeNull();
  });

  test('a tiny model learns it: the loss falls from chance to well below it on 16 world scenes', () => {
    const { scenes, vq, codes } = fittedScenes(16, 'train', 5, 64);
    const model = M.EchoGen.create({ ...M.presets.tiny, codebookSize: 64, patchBoxes: true, patchShapes: true }, { words: eg.data.VOCAB, vq, seed: 1 });
    const batch = model.collate(scenes.map((s, i) => M.pmtpSequence(model.vocab, s.layout, codes.subarray(i * 64, (i + 1) * 64))));
    expect(batch.patchBoxes!.count).toBeGreaterThan(50);
    const opt = new eg.optim.AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
    const history: number[] = [];
    for (let step = 0; step < 100; step++) {
      history.push(eg.tidy(() => {
        opt.zeroGrad();
        const { patch } = model.loss(batch);
        const v = patch!.item();
        ops.backward(patch!);
        opt.step();
        return v;
      }));
    }
    console.log(`patch-box task: ${history[0].toFixed(3)} -> ${history[history.length - 1].toFixed(3)} in 100 steps`);
    // Untrained: about uniform over the 64 bins (and the 3 shapes); trained: the patches know their object's box and shape.
    expect(history[0]).toBeGreaterThan(0.8 * (Math.log(64) + Math.log(3)));
    expect(history[history.length - 1]).toBeLessThan(0.3 * history[0]);
    // DJO's path asks for no patch loss; a model without the task has none.
    expect(eg.tidy(() => model.loss(batch, undefined, { patchLoss: false }).patch)).toBeNull();
    M.disposeBatch(batch);
    model.dispose();
  });

  test('its loss is the float64 mean of the four coordinates\' cross-entropies through coordLogits, plus the shape\'s', () => {
    const { scenes, vq, codes } = fittedScenes(4, 'train', 9, 64);
    const model = M.EchoGen.create({ ...M.presets.tiny, codebookSize: 64, patchBoxes: true, patchShapes: true }, { words: eg.data.VOCAB, vq, seed: 3 });
    const batch = model.collate(scenes.map((s, i) => M.pmtpSequence(model.vocab, s.layout, codes.subarray(i * 64, (i + 1) * 64))));
    const index = batch.patchBoxes!;
    const n = index.count;
    const ce64 = (logits: Float32Array, classes: number, targets: Int32Array): number => {
      let sum = 0;
      for (let r = 0; r < n; r++) {
        let max = -Infinity;
        for (let c = 0; c < classes; c++) max = Math.max(max, logits[r * classes + c]);
        let z = 0;
        for (let c = 0; c < classes; c++) z += Math.exp(logits[r * classes + c] - max);
        sum += max + Math.log(z) - logits[r * classes + targets[r]];
      }
      return sum / n;
    };
    // The reference: every coordinate through the public per-kind coordLogits, read back and summed in float64.
    const { got, want, gradGot, gradWant } = eg.tidy(() => {
      const head = model.patchBoxHead!.weight;
      ops.zeroGrad(model.parameters());
      const patch = model.loss(batch).patch!;
      ops.backward(patch);
      const gradGot = Float64Array.from(head.grad!.toArray() as Float32Array);
      ops.zeroGrad(model.parameters());
      const flat = ops.reshape(model.forward(batch), [batch.batch * batch.length, model.config.dim]);
      const states = ops.gatherRows(flat, eg.tensor(index.rows, [n], { dtype: 'i32' }));
      const h = model.patchBoxHead!.forward(states);
      let want = 0;
      let ref: eg.Tensor | null = null;
      for (let kind = 0; kind < 4; kind++) {
        const logits = model.coordLogits(h, kind);
        const bins = index.bins.subarray(kind * n, (kind + 1) * n);
        want += ce64(logits.toArray() as Float32Array, 64, bins) / 4;
        const part = ops.scale(ops.crossEntropy(logits, eg.tensor(bins, [n], { dtype: 'i32' })), 1 / 4);
        ref = ref ? ops.add(ref, part) : part;
      }
      const shapes = model.patchShapeHead!.forward(states);
      want += ce64(shapes.toArray() as Float32Array, 3, index.shapes);
      ops.backward(ops.add(ref!, ops.crossEntropy(shapes, eg.tensor(index.shapes, [n], { dtype: 'i32' }))));
      return { got: patch.item(), want, gradGot, gradWant: Float64Array.from(head.grad!.toArray() as Float32Array) };
    });
    expect(n).toBeGreaterThan(20);
    expect(Math.abs(got - want)).toBeLessThan(1e-5 * want);
    let diff = 0, scale = 0;
    for (let i = 0; i < gradGot.length; i++) { diff = Math.max(diff, Math.abs(gradGot[i] - gradWant[i])); scale = Math.max(scale, Math.abs(gradWant[i])); }
    expect(scale).toBeGreaterThan(0);
    expect(diff).toBeLessThan(1e-5 * scale);
    M.disposeBatch(batch);
    model.dispose();
  });

  test('the flags name what they need', () => {
    const vq = M.PatchVq.fit(M.imagesToTensor([eg.data.renderScene(eg.data.generateScenes(1, 'train', 1)[0].scene)]), { imageSize: 64, patchSize: 8, codebookSize: 4 }, { iterations: 1 });
    const shape = { ...M.presets.tiny, codebookSize: 4 };
    expect(() => M.EchoGen.create({ ...shape, geometry: false, patchBoxes: true }, { words: eg.data.VOCAB, vq })).toThrow(/config.patchBoxes needs config.geometry/);
    expect(() => M.EchoGen.create({ ...shape, patchShapes: true }, { words: eg.data.VOCAB, vq })).toThrow(/config.patchShapes needs config.patchBoxes/);
    vq.codebook.dispose();
  });
});
