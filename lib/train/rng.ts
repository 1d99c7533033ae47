// The trainer's random stream: mulberry32, whose whole state is one 32-bit integer, so a checkpoint
// can store it and `--resume` continues with exactly the numbers an uninterrupted run would draw.

export class TrainRng {
  state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new TypeError(`TrainRng: seed must be an integer, got ${seed}`);
    this.state = (seed ^ 0x9e3779b9) >>> 0;
  }

  uint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number { return this.uint32() / 4294967296; }

  /** Uniform integer in [0, n). */
  below(n: number): number { return Math.floor(this.float() * n); }

  /** A fresh 31-bit seed (for kernels' Philox streams and data generators). */
  seed(): number { return this.uint32() >>> 1; }
}
