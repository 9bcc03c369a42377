import { type ServiceError } from '@grpc/grpc-js';
import { RankRequest, type RankResponse, type RankerClient } from '@pinrank/proto';
import { call } from './grpc-call';

/** What a load loop saw: every response in completion order, and every failure. */
export interface LoadResult {
  responses: RankResponse[];
  failures: string[];
}

/** A closed-loop Rank load running until stopped. */
export interface RankLoad {
  /** Responses so far (grows while running). */
  readonly result: LoadResult;
  /** Stops issuing requests and waits for those in flight. */
  stop(): Promise<LoadResult>;
}

/**
 * Runs `concurrency` loops, each sending the request `next()` builds, one at a
 * time, until stopped. Failures are recorded (code and details), never thrown.
 */
export function startRankLoad(ranker: RankerClient, next: () => Partial<RankRequest>, concurrency: number): RankLoad {
  const result: LoadResult = { responses: [], failures: [] };
  let running = true;
  const loop = async (): Promise<void> => {
    while (running) {
      try {
        result.responses.push(await call(ranker.rank.bind(ranker), RankRequest.fromPartial(next()), { timeoutMs: 30_000 }));
      } catch (err) {
        const e = err as ServiceError;
        result.failures.push(`${e.code}: ${e.details ?? e.message}`);
      }
    }
  };
  const loops = Array.from({ length: concurrency }, () => loop());
  return {
    result,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return result;
    },
  };
}

/** Resolves once `predicate` holds (polled every 50 ms), or rejects after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
