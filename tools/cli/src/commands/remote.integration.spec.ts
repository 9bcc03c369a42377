import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials, status, type ServerUnaryCall, type sendUnaryData, type ServerReadableStream } from '@grpc/grpc-js';
import {
  DegradedFlag,
  FeatureServerService,
  IngestActionsResponse,
  RankResponse,
  RankerService,
  RealtimeSequence,
  type GetRealtimeSequenceRequest,
  type IngestActionsRequest,
  type RankRequest,
  type UserAction,
} from '@pinrank/proto';
import { main } from '../cli';
import { type CliIo } from '../io';
import { parseHeadWeights } from './rank';
import { withoutLocalStackTls } from '../remote/no-local-stack-tls';

/** A Ranker that scores candidates by their position, and a FeatureServer that collects ingested actions. */
async function startStack(): Promise<{ port: number; server: Server; ingested: UserAction[]; lastRank: () => RankRequest | undefined }> {
  const server = new Server();
  const ingested: UserAction[] = [];
  let lastRank: RankRequest | undefined;
  const unimplemented = (_c: unknown, cb: sendUnaryData<never>): void => cb({ code: status.UNIMPLEMENTED, details: 'not in this test' });
  server.addService(RankerService, {
    rank: (call: ServerUnaryCall<RankRequest, RankResponse>, cb: sendUnaryData<RankResponse>) => {
      lastRank = call.request;
      if (call.request.candidateItemIds.length === 0) return cb({ code: status.INVALID_ARGUMENT, details: 'candidate_item_ids: empty list' });
      const items = call.request.candidateItemIds.map((id, i) => ({ itemId: id, score: 1 - i / 10, headScores: { save: 0.5 - i / 100, hide: 0.01 } }));
      cb(null, RankResponse.fromPartial({ items, modelVersions: { transact_encoder: '1' }, snapshotVersion: 's1', requestId: 'r1', degraded: [DegradedFlag.DEGRADED_FLAG_ENCODER_ON_CPU], timings: [{ stage: 'content', ms: 1.25, startMs: 0.5 }, { stage: 'tower', ms: 2, startMs: 0.5 }, { stage: 'total', ms: 3.25 }] }));
    },
    recommend: unimplemented,
  });
  server.addService(FeatureServerService, {
    ingestActions: (call: ServerReadableStream<IngestActionsRequest, IngestActionsResponse>, cb: sendUnaryData<IngestActionsResponse>) => {
      call.on('data', (m: IngestActionsRequest) => ingested.push(...m.actions));
      call.on('end', () => cb(null, IngestActionsResponse.fromPartial({ accepted: ingested.length })));
    },
    // u1 has one save a minute old; anyone else has none.
    getRealtimeSequence: (call: ServerUnaryCall<GetRealtimeSequenceRequest, RealtimeSequence>, cb: sendUnaryData<RealtimeSequence>) => {
      const asOfMs = 1_767_225_600_000;
      const records = call.request.userId === 'u1' ? [{ action: { actionId: 'a1', userId: 'u1', itemId: 'i9', actionType: 3, timestampMs: asOfMs - 60_000, surface: 1 }, itemKnown: true }] : [];
      cb(null, RealtimeSequence.fromPartial({ userId: call.request.userId, length: records.length, asOfMs, records }));
    },
    getRealtimeSequences: unimplemented,
    deleteUser: unimplemented,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, server, ingested, lastRank: () => lastRank };
}

describe('pinrank remote commands', () => {
  withoutLocalStackTls();
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t), errIsTty: false };
  const run = (...args: string[]): Promise<number> => main(['node', 'pinrank', ...args], io);
  let stack: Awaited<ReturnType<typeof startStack>>;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.server.forceShutdown());
  beforeEach(() => {
    out = '';
    err = '';
  });

  it('rank prints a table in the server order with heads, versions, timings and degraded flags', async () => {
    const code = await run('rank', '--addr', `127.0.0.1:${stack.port}`, '--user', 'u1', '--items', 'i3,i1,i2', '--weights', 'save=1,hide=-2');
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^#\s+item\s+score\s+hide\s+save$/);
    expect(lines[2]).toMatch(/^1\s+i3\s+1\s/);
    expect(lines[4]).toMatch(/^3\s+i2\s+0\.8000\s/);
    expect(out).toMatch(/models: transact_encoder@1 {2}snapshot: s1/);
    expect(out).toMatch(/degraded: DEGRADED_FLAG_ENCODER_ON_CPU/);
    expect(out).toContain('timings: content 1.3 ms from +0.5, tower 2.0 ms from +0.5, total 3.3 ms');
    expect(stack.lastRank()?.headWeights).toEqual({ save: 1, hide: -2 });
  });

  it('rank --json prints the response as JSON', async () => {
    expect(await run('rank', '--addr', `127.0.0.1:${stack.port}`, '--user', 'u1', '--items', 'a,b', '--json')).toBe(0);
    const parsed = JSON.parse(out) as { items: { itemId: string }[] };
    expect(parsed.items.map((i) => i.itemId)).toEqual(['a', 'b']);
  });

  it('says plainly when a server is unreachable', async () => {
    const free = await new Promise<number>((resolve) => {
      const s = new Server();
      s.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (_e, p) => s.tryShutdown(() => resolve(p)));
    });
    expect(await run('rank', '--addr', `127.0.0.1:${free}`, '--user', 'u', '--items', 'a', '--timeout', '2000')).toBe(4);
    expect(err).toMatch(new RegExp(`cannot reach router at 127.0.0.1:${free} .*is it running\\?`));
    // grpc-js's empty "Resolution note: " tail is not passed on.
    expect(err).not.toMatch(/Resolution note/);
    expect(err).toMatch(new RegExp(`Last error: connect ECONNREFUSED 127.0.0.1:${free}\\); is it running`));

    err = '';
    expect(await run('health', '--router', `127.0.0.1:${free}`, '--feature-server', `127.0.0.1:${free}`, '--embedding-store', `127.0.0.1:${free}`, '--gpu-worker', `127.0.0.1:${free}`, '--cpu-worker', `127.0.0.1:${free}`, '--timeout', '2000')).toBe(4);
    // health has one address option per service, not --addr.
    expect(err).toMatch(/or pass --router;/);
    expect(err).toMatch(/or pass --cpu-worker;/);
    expect(err).not.toMatch(/--addr/);
  });

  it('passes server validation errors through with exit code 3', async () => {
    expect(await run('rank', '--addr', `127.0.0.1:${stack.port}`, '--user', 'u', '--items', ',')).toBe(3);
    expect(err).toMatch(/router: INVALID_ARGUMENT: candidate_item_ids: empty list/);
  });

  it('writes failures as a JSON object on stderr under --json', async () => {
    expect(await run('rank', '--addr', `127.0.0.1:${stack.port}`, '--user', 'u', '--items', ',', '--json')).toBe(3);
    expect(out).toBe('');
    expect(JSON.parse(err)).toEqual({ error: { kind: 'rejected', exitCode: 3, status: 'INVALID_ARGUMENT', message: 'router: INVALID_ARGUMENT: candidate_item_ids: empty list' } });
    err = '';
    expect(await run('rank', '--frob', '--json')).toBe(2);
    expect(JSON.parse(err)).toEqual({ error: { kind: 'usage', exitCode: 2, message: "unknown option '--frob'" } });
  });

  it('ingest streams a JSON-lines file in batches', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pinrank-cli-ingest-'));
    try {
      const file = join(dir, 'actions.jsonl');
      const rows = Array.from({ length: 7 }, (_, i) =>
        JSON.stringify({ actionId: `a${i}`, userId: 'u1', itemId: `i${i}`, actionType: 'ACTION_TYPE_SAVE', timestampMs: 1_767_225_600_000 + i }),
      );
      await writeFile(file, rows.join('\n') + '\n');
      expect(await run('ingest', '--addr', `127.0.0.1:${stack.port}`, '--file', file, '--batch', '3')).toBe(0);
      expect(stack.ingested.map((a) => a.actionId)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6']);
      expect(stack.ingested[0]?.actionType).toBe(3);
      expect(out).toMatch(/sent 7 actions .*7 accepted/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('sequence prints the records newest first, and only the summary line for a user with none', async () => {
    out = '';
    expect(await run('sequence', '--user', 'u1', '--addr', `127.0.0.1:${stack.port}`)).toBe(0);
    expect(out).toMatch(/^#\s+time \(UTC\)\s+action\s+item\s+age s\s+in catalog\n[- ]+\n1\s+2025-12-31T23:59:00\.000Z\s+save\s+i9\s+60\.0\s+yes\n/);
    expect(out.endsWith('user u1: 1 actions as of 2026-01-01T00:00:00.000Z\n')).toBe(true);
    out = '';
    expect(await run('sequence', '--user', 'nobody', '--addr', `127.0.0.1:${stack.port}`)).toBe(0);
    expect(out).toBe('user nobody: 0 actions as of 2026-01-01T00:00:00.000Z\n');
  });

  it('parses head weights and refuses malformed ones', () => {
    expect(parseHeadWeights('save=1,click=0.3,hide=-2')).toEqual({ save: 1, click: 0.3, hide: -2 });
    expect(() => parseHeadWeights('save=x')).toThrow(/expected head=weight pairs/);
  });
});
