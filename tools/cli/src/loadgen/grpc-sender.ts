import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { RankRequest, RankerClient, RecommendRequest } from '@pinrank/proto';
import { type ClientTlsOptions } from '@pinrank/service-kit';
import { openClient } from '../remote/call';
import { type CallOutcome, type LoadSender } from './runner';

/** The router RPC a load targets. */
export type LoadRpc = 'rank' | 'recommend';

/** What each request asks for besides the user and candidates. */
export interface RankerSenderOptions {
  /** Rank or Recommend. */
  rpc: LoadRpc;
  /** Rank: items to return (0 = all). Recommend: k (1..1000). */
  topK: number;
  /** Recommend: retrieved candidates to rank (0 = server default). */
  recommendCandidates: number;
}

/** The gRPC status name of a failed call (e.g. RESOURCE_EXHAUSTED), or `UNKNOWN`. */
export function statusName(err: unknown): string {
  const code = (err as Partial<ServiceError> | null)?.code;
  return typeof code === 'number' ? (status[code] ?? `CODE_${code}`) : 'UNKNOWN';
}

/** A sender calling the router's Rank or Recommend on one shared channel, and a `close` to release it. */
export function rankerSender(address: string, opts: RankerSenderOptions, tls?: ClientTlsOptions): { send: LoadSender; close: () => void } {
  const client = openClient(RankerClient, address, tls);
  const md = new Metadata();
  const settle = (resolve: (o: CallOutcome) => void) => (err: ServiceError | null) => resolve(err ? { ok: false, status: statusName(err) } : { ok: true });
  const send: LoadSender = (req, deadlineMs) =>
    new Promise<CallOutcome>((resolve) => {
      const deadline = new Date(Date.now() + deadlineMs);
      if (opts.rpc === 'rank') {
        client.rank(RankRequest.fromPartial({ userId: req.userId, candidateItemIds: req.itemIds, topK: opts.topK }), md, { deadline }, settle(resolve));
      } else {
        client.recommend(RecommendRequest.fromPartial({ userId: req.userId, k: opts.topK, candidates: opts.recommendCandidates }), md, { deadline }, settle(resolve));
      }
    });
  return { send, close: () => client.close() };
}
