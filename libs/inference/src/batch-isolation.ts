import { type TensorMap } from './host-tensor';

/** What became of one request of a batch computed with failure isolation. */
export type RequestOutcome = { ok: true; outputs: TensorMap } | { ok: false; error: unknown };

/** Runs a group of requests as one stacked batch; resolves with each request's own outputs, in order. */
export type GroupRun<T> = (group: readonly T[]) => Promise<TensorMap[]>;

/** The outcomes of {@link computeIsolated}, in request order, and how much it took to get them. */
export interface IsolatedResult {
  outcomes: RequestOutcome[];
  /** Batches run, the first one included. */
  runs: number;
}

/**
 * Runs requests as one batch; when the batch fails, splits it in halves and
 * runs each half again, down to single requests, so a request whose inputs
 * break the model fails alone and every other request of the batch gets its
 * answer. One poison request among k costs about 2·log2(k) extra runs.
 */
export async function computeIsolated<T>(requests: readonly T[], run: GroupRun<T>): Promise<IsolatedResult> {
  const outcomes: RequestOutcome[] = new Array<RequestOutcome>(requests.length);
  let runs = 0;
  const attempt = async (indices: readonly number[]): Promise<void> => {
    runs++;
    try {
      const parts = await run(indices.map((i) => requests[i]!));
      indices.forEach((i, j) => (outcomes[i] = { ok: true, outputs: parts[j]! }));
    } catch (error) {
      if (indices.length === 1) {
        outcomes[indices[0]!] = { ok: false, error };
        return;
      }
      // Halves run one after the other: a failing batch never fans out into more concurrent work.
      const mid = indices.length >> 1;
      await attempt(indices.slice(0, mid));
      await attempt(indices.slice(mid));
    }
  };
  await attempt(requests.map((_, i) => i));
  return { outcomes, runs };
}
