// Typed wrappers of the box kernels: pairwise IoU/GIoU and the fused Cycle RL reward.
import { nativeFunction, NativeTensor } from '../native';
import { Tensor } from '../tensor';

export type BoxIouKind = 'iou' | 'giou';

export interface BoxIouOptions {
  /** 'iou' (default) or 'giou' (generalised IoU, in [-1, 1]). */
  kind?: BoxIouKind;
}

export interface CycleRewardOptions {
  /** f32 [B,N]: 1 = real object, 0 = padding (ignored). Default: every object is real. */
  mask?: Tensor;
  /** Weight of the mean IoU term (>= 0, default 1). */
  iouWeight?: number;
  /** Weight of the mean L1 term (>= 0, default 1). */
  l1Weight?: number;
  /** Added to the group's std before dividing (>= 0, default 1e-4). */
  eps?: number;
}

export interface CycleRewardResult {
  /** [B,G]: iouWeight * mean IoU - l1Weight * mean L1 over the real objects; 0 with none. */
  reward: Tensor;
  /** [B,G]: (reward - group mean) / (unbiased group std + eps); 0 for G = 1 or equal rewards. */
  advantage: Tensor;
  /** [B,G,N]: IoU of each predicted box with its target (matched by position); 0 where padded. */
  iou: Tensor;
}

type NativeBoxIou = (a: NativeTensor, b: NativeTensor, opts: { kind?: BoxIouKind }) => NativeTensor;
type NativeCycleReward = (pred: NativeTensor, target: NativeTensor, opts: {
  mask?: NativeTensor; iouWeight?: number; l1Weight?: number; eps?: number;
}) => { reward: NativeTensor; advantage: NativeTensor; iou: NativeTensor };

// looked up on first use, so importing the package never depends on these functions being built
let nativeBoxIou: NativeBoxIou | undefined;
let nativeCycleReward: NativeCycleReward | undefined;

function handle(x: unknown, fn: string, name: string): NativeTensor {
  if (!(x instanceof Tensor)) {
    const seen = x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
    throw new TypeError(`${fn}: ${name} must be a Tensor, got ${seen}`);
  }
  return x.handle;
}

function options<T extends object>(opts: T | undefined, fn: string): Partial<T> {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError(`${fn}: options must be an object, got ${typeof opts}`);
  return opts;
}

/**
 * Pairwise IoU (or GIoU) of xyxy boxes: a [N,4], b [M,4] -> [N,M]. A pair with zero union has
 * IoU 0; GIoU is 0 where the enclosing box has zero area too. A box with x2 < x1, y2 < y1 or a
 * non-finite coordinate is a RangeError naming the tensor and the box index.
 */
export function boxIou(a: Tensor, b: Tensor, opts?: BoxIouOptions): Tensor {
  const fn = (nativeBoxIou ??= nativeFunction<NativeBoxIou>('boxIou'));
  const o = options(opts, 'boxIou');
  return new Tensor(fn(handle(a, 'boxIou', 'a'), handle(b, 'boxIou', 'b'), { kind: o.kind }));
}

/**
 * The Cycle RL reward and GRPO advantage in one fused pass. pred [B,G,N,4] holds G sampled
 * predictions per layout, target [B,N,4] the layout's boxes (matched by position).
 */
export function cycleReward(pred: Tensor, target: Tensor, opts?: CycleRewardOptions): CycleRewardResult {
  const fn = (nativeCycleReward ??= nativeFunction<NativeCycleReward>('cycleReward'));
  const o = options(opts, 'cycleReward');
  const mask = o.mask === undefined || o.mask === null ? undefined : handle(o.mask, 'cycleReward', 'options.mask');
  const r = fn(handle(pred, 'cycleReward', 'pred'), handle(target, 'cycleReward', 'target'), {
    mask, iouWeight: o.iouWeight, l1Weight: o.l1Weight, eps: o.eps,
  });
  return { reward: new Tensor(r.reward), advantage: new Tensor(r.advantage), iou: new Tensor(r.iou) };
}
