import { type ParamInit } from '../ops/ops';
import { SeededRandom, deriveSeed } from './seeded-random';

/** One named float32 weight tensor (row-major). */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * The weights a model reads through `Ops.param`. A store either holds loaded
 * weights only (a missing name is an error) or also a seed, in which case a
 * missing parameter is created from the seed and the parameter's name — the
 * same seed and name always give the same values, whatever the creation order.
 */
export class WeightStore {
  private readonly tensors = new Map<string, WeightTensor>();
  private readonly used = new Set<string>();

  /** @param seed when set, missing parameters are initialised from it; otherwise they are an error. */
  constructor(
    tensors: Iterable<[string, WeightTensor]> = [],
    readonly seed?: number,
  ) {
    for (const [name, t] of tensors) this.set(name, t);
  }

  /** A store that creates every parameter from `seed`. */
  static seeded(seed: number): WeightStore {
    return new WeightStore([], seed);
  }

  /**
   * The parameter `name`, created from the seed when absent. Thrown by: a
   * stored tensor whose shape differs from `shape`, or a missing name in a
   * store without a seed.
   */
  get(name: string, shape: readonly number[], init: ParamInit): WeightTensor {
    let t = this.tensors.get(name);
    if (t) {
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
        throw new Error(`weight "${name}" has shape [${t.shape.join(',')}] but the model needs [${shape.join(',')}]`);
    } else {
      if (this.seed === undefined) throw new Error(`the weights have no tensor "${name}" (shape [${shape.join(',')}])`);
      t = { shape: [...shape], data: initialise(shape, init, new SeededRandom(deriveSeed(this.seed, name))) };
      this.tensors.set(name, t);
    }
    this.used.add(name);
    return t;
  }

  /** Stores (or replaces) a tensor; its data length must match its shape. */
  set(name: string, t: WeightTensor): void {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== size) throw new Error(`weight "${name}": ${t.data.length} values for shape [${t.shape.join(',')}]`);
    this.tensors.set(name, { shape: [...t.shape], data: t.data });
  }

  /** Whether the store holds `name`. */
  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** Every stored tensor, sorted by name. */
  entries(): Array<[string, WeightTensor]> {
    return [...this.tensors.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Names stored but never read through `get` — weights that do not belong to the model that was built. */
  unusedNames(): string[] {
    return this.entries()
      .map(([n]) => n)
      .filter((n) => !this.used.has(n));
  }

  /** Total number of float values stored. */
  parameterCount(): number {
    let n = 0;
    for (const t of this.tensors.values()) n += t.data.length;
    return n;
  }
}

function initialise(shape: readonly number[], init: ParamInit, rng: SeededRandom): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  switch (init.kind) {
    case 'zeros':
      break;
    case 'ones':
      out.fill(1);
      break;
    case 'normal':
      for (let i = 0; i < size; i++) out[i] = rng.normal() * init.std;
      break;
    case 'uniform':
      for (let i = 0; i < size; i++) out[i] = rng.uniform(init.low, init.high);
      break;
    case 'glorot': {
      const fanIn = shape.length >= 2 ? shape[shape.length - 2]! : shape[0]!;
      const fanOut = shape[shape.length - 1]!;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) out[i] = rng.uniform(-limit, limit);
      break;
    }
  }
  return out;
}
