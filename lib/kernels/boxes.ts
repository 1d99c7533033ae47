// Typed wrappers of the box kernels: pairwise IoU/GIoU and the fused Cycle RL reward.
import { Tensor } from '../tensor';
import { kernelOp } from './op';

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

/**
 * Pairwise IoU (or GIoU) of xyxy boxes: a [N,4], b [M,4] -> [N,M]. A pair with zero union has
 * IoU 0; GIoU is 0 where the enclosing box has zero area too. A box with x2 < x1, y2 < y1 or a
 * non-finite coordinate is a RangeError naming the tensor and the box index.
 */
export const { sync: boxIou, async: boxIouAsync } =
  kernelOp<[a: Tensor, b: Tensor, opts?: BoxIouOptions], Tensor>('boxIou');

/**
 * The Cycle RL reward and GRPO advantage in one fused pass. pred [B,G,N,4] holds G sampled
 * predictions per layout, target [B,N,4] the layout's boxes (matched by position).
 */
export const { sync: cycleReward, async: cycleRewardAsync } =
  kernelOp<[pred: Tensor, target: Tensor, opts?: CycleRewardOptions], CycleRewardResult>('cycleReward');
