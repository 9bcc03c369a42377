import { ModelRepository } from '@pinrank/inference';
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

  /**
   * Loads transact_encoder and ranking_heads from the repository on the CPU
   * provider: the given versions, else the newest of each (ModelRepository: what
   * the workers serve and the router calls by default).
   */
  static async load(repo: string, versions: { encoder?: string; heads?: string } = {}, intraOpThreads = 1): Promise<InProcessRanker> {
    const models = new ModelRepository(repo);
    const path = async (name: string, version: string | undefined): Promise<string> => {
      const entry = version !== undefined ? await models.findVersion(name, version) : await models.latestVersion(name);
      if (!entry) throw new Error(`${name}${version !== undefined ? `/${version}` : ''}: no complete version in ${repo}`);
      return entry.modelPath;
    };
    const opts: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: intraOpThreads };
    const encoder = await ort.InferenceSession.create(await path('transact_encoder', versions.encoder), opts);
    const heads = await ort.InferenceSession.create(await path('ranking_heads', versions.heads), opts);
    return new InProcessRanker(encoder, heads);
  }

  /** probs [n, H] for the inputs: encoder (sequence once, every candidate on user row 0) then heads. */
  async run(x: RankingInputs): Promise<Float32Array> {
    return this.scoreHeads(x, await this.encode(x));
  }

  /**
   * The encoder once, then the heads twice: on its output as computed and on
   * `transform` of it (e.g. a round trip through a narrower wire format), to
   * measure what that transform does to the scores.
   */
  async compareEncoded(x: RankingInputs, transform: (encoded: Float32Array) => Float32Array): Promise<{ reference: Float32Array; transformed: Float32Array }> {
    const encoded = await this.encode(x);
    const reference = await this.scoreHeads(x, encoded);
    const changed = new ort.Tensor('float32', transform(encoded.data as Float32Array), encoded.dims);
    return { reference, transformed: await this.scoreHeads(x, changed) };
  }

  private async encode(x: RankingInputs): Promise<ort.Tensor> {
    const enc = await this.encoder.run({
      seq_action_types: new ort.Tensor('int64', x.seqActionTypes, [1, x.S]),
      seq_item_vectors: new ort.Tensor('float32', x.seqItemVectors, [1, x.S, 32]),
      seq_ages_s: new ort.Tensor('float32', x.seqAgesS, [1, x.S]),
      cand_vectors: new ort.Tensor('float32', x.candVectors, [x.n, 32]),
      cand_user_idx: new ort.Tensor('int64', new BigInt64Array(x.n), [x.n]),
    });
    const encoded = enc['encoded'];
    if (!encoded) throw new Error('encoder returned no "encoded"');
    return encoded;
  }

  private async scoreHeads(x: RankingInputs, encoded: ort.Tensor): Promise<Float32Array> {
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
