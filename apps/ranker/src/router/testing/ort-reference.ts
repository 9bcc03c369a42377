import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

/** The inputs of one ranking, as the router builds them: one user row, n candidates. */
export interface RankingInputs {
  S: number;
  n: number;
  seqActionTypes: BigInt64Array;
  seqItemVectors: Float32Array;
  seqAgesS: Float32Array;
  candVectors: Float32Array;
  userPf: Float32Array;
  itemPf: Float32Array;
  dense: Float32Array;
}

/**
 * The encoder and heads models in one process with plain onnxruntime-node
 * sessions: the reference the served path is checked and measured against.
 */
export class InProcessRanker {
  private constructor(
    private readonly encoder: ort.InferenceSession,
    private readonly heads: ort.InferenceSession,
  ) {}

  /** Loads `<repo>/transact_encoder/<v>/model.onnx` and `<repo>/ranking_heads/<v>/model.onnx` on the CPU provider. */
  static async load(repo: string, version: string | { transact_encoder: string; ranking_heads: string } = '1', intraOpThreads = 1): Promise<InProcessRanker> {
    const opts: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: intraOpThreads };
    const v = typeof version === 'string' ? { transact_encoder: version, ranking_heads: version } : version;
    const encoder = await ort.InferenceSession.create(join(repo, 'transact_encoder', v.transact_encoder, 'model.onnx'), opts);
    const heads = await ort.InferenceSession.create(join(repo, 'ranking_heads', v.ranking_heads, 'model.onnx'), opts);
    return new InProcessRanker(encoder, heads);
  }

  /** probs [n, H] for the inputs: encoder (sequence once, every candidate on user row 0) then heads. */
  async run(x: RankingInputs): Promise<Float32Array> {
    const enc = await this.encoder.run({
      seq_action_types: new ort.Tensor('int64', x.seqActionTypes, [1, x.S]),
      seq_item_vectors: new ort.Tensor('float32', x.seqItemVectors, [1, x.S, 32]),
      seq_ages_s: new ort.Tensor('float32', x.seqAgesS, [1, x.S]),
      cand_vectors: new ort.Tensor('float32', x.candVectors, [x.n, 32]),
      cand_user_idx: new ort.Tensor('int64', new BigInt64Array(x.n), [x.n]),
    });
    const encoded = enc['encoded'];
    if (!encoded) throw new Error('encoder returned no "encoded"');
    const out = await this.heads.run({
      encoded,
      user_pf: new ort.Tensor('float32', x.userPf, [x.n, 64]),
      item_pf: new ort.Tensor('float32', x.itemPf, [x.n, 64]),
      dense_features: new ort.Tensor('float32', x.dense, [x.n, 4]),
    });
    const probs = out['probs'];
    if (!probs) throw new Error('heads returned no "probs"');
    return probs.data as Float32Array;
  }

  /** Releases both sessions. */
  async release(): Promise<void> {
    await this.encoder.release();
    await this.heads.release();
  }
}
