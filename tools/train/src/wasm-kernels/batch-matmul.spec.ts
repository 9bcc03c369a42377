import * as tf from '@tensorflow/tfjs';
import { compareWithReference, randomTensor, setUpWasm, TOLERANCE } from '../testing/reference';

beforeAll(setUpWasm);

/** Broadcasts both operands' batch dimensions to the common shape (differentiable). */
function explicitBroadcast(a: tf.Tensor, b: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return [tf.broadcastTo(a, [...outer, ...a.shape.slice(-2)]), tf.broadcastTo(b, [...outer, ...b.shape.slice(-2)])];
}

const cases: { name: string; a: number[]; b: number[]; tA: boolean; tB: boolean }[] = [
  { name: '2-D plain', a: [37, 24], b: [24, 19], tA: false, tB: false },
  { name: '2-D transposeA', a: [24, 37], b: [24, 19], tA: true, tB: false },
  { name: '2-D transposeB', a: [37, 24], b: [19, 24], tA: false, tB: true },
  { name: '2-D both transposed', a: [24, 37], b: [19, 24], tA: true, tB: true },
  { name: 'batched plain', a: [6, 10, 8], b: [6, 8, 12], tA: false, tB: false },
  { name: 'batched q·kᵀ', a: [2, 3, 10, 8], b: [2, 3, 10, 8], tA: false, tB: true },
  { name: 'batched aᵀ·b', a: [2, 3, 8, 10], b: [2, 3, 8, 7], tA: true, tB: false },
  { name: 'broadcast weights (rank 3 × rank 2)', a: [4, 9, 16], b: [16, 5], tA: false, tB: false },
  { name: 'broadcast left batch of one', a: [1, 9, 16], b: [3, 16, 5], tA: false, tB: false },
  { name: 'broadcast both outer dims', a: [2, 1, 7, 6], b: [1, 3, 5, 6], tA: false, tB: true },
  { name: 'single row and column (tiny: stock path)', a: [5, 1, 16], b: [5, 16, 1], tA: false, tB: false },
  { name: 'per-item path plain', a: [3, 24, 20], b: [3, 20, 24], tA: false, tB: false },
  { name: 'per-item path q·kᵀ', a: [2, 2, 24, 20], b: [2, 2, 24, 20], tA: false, tB: true },
  { name: 'per-item path aᵀ·bᵀ', a: [2, 20, 24], b: [2, 24, 20], tA: true, tB: true },
];

describe('fast BatchMatMul on wasm', () => {
  it.each(cases)('matches the reference: $name', async ({ a, b, tA, tB }) => {
    const error = await compareWithReference(() => {
      const [x, y] = [randomTensor(a, 1), randomTensor(b, 2)];
      // The cpu reference kernel mis-handles batch dims broadcast on both sides: give it equal batches.
      return tf.getBackend() === 'cpu' ? tf.matMul(...explicitBroadcast(x, y), tA, tB) : tf.matMul(x, y, tA, tB);
    });
    expect(error).toBeLessThan(TOLERANCE);
  });

  it.each(cases)('gradients match the reference: $name', async ({ a, b, tA, tB }) => {
    const error = await compareWithReference(() => {
      const x = randomTensor(a, 3);
      const y = randomTensor(b, 4);
      const probe = (p: tf.Tensor, q: tf.Tensor): tf.Tensor => {
        const product = tf.getBackend() === 'cpu' ? tf.matMul(...explicitBroadcast(p, q), tA, tB) : tf.matMul(p, q, tA, tB);
        return tf.sum(tf.mul(product, randomTensor(product.shape, 5)));
      };
      return tf.grads(probe)([x, y]);
    });
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('handles an empty inner dimension and empty outputs', async () => {
    const error = await compareWithReference(() => [
      tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 4])),
      tf.matMul(tf.zeros([2, 0, 3]), tf.zeros([2, 3, 4])),
    ]);
    expect(error).toBe(0);
  });

  it('rejects mismatched inner dimensions', async () => {
    await setUpWasm();
    expect(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 2]))).toThrow();
  });
});

describe('fast BatchMatMul: an operand seen under two shapes', () => {
  // A reshape shares its tensor's storage id; XNNPACK caches a right operand packed under that id, so
  // the second product must not reuse the packing made for the first shape.
  it('gives the reference result when the same storage is the right operand as [128,96] and then [16,768]', async () => {
    const error = await compareWithReference(() => {
      const shared = randomTensor([128, 96], 6);
      const first = tf.matMul(randomTensor([40, 128], 7), shared);
      const second = tf.matMul(randomTensor([16, 4], 8), tf.reshape(shared, [16, 768]), true, false);
      return [first, second];
    });
    expect(error).toBeLessThan(TOLERANCE);
  });
});
