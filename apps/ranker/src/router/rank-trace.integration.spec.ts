import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { VectorKind } from '@pinrank/proto';
import { startTracing, type Tracing } from '@pinrank/telemetry';
import { eventually, startHarness, type Harness } from './testing/router-harness';

// The span tree of one Rank: both GetEmbeddings calls are CLIENT children of
// the Rank SERVER span, and they overlap in time.

const spans = new InMemorySpanExporter();
let tracing: Tracing;
let h: Harness;

beforeAll(async () => {
  tracing = startTracing({ serviceName: 'router-trace-test', exporter: 'none', spanProcessors: [new SimpleSpanProcessor(spans)] });
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
  await tracing.shutdown();
});

const ns = (t: ReadableSpan['startTime']): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

it('puts the content and tower lookups side by side under the Rank span, overlapping', async () => {
  const api = await h.router({});
  // Hold the content answer until the tower request is in (released anyway after 2 s, so a serial router fails below rather than hangs).
  let towerArrived = (): void => undefined;
  const towerSeen = new Promise<void>((resolve) => (towerArrived = resolve));
  h.store.data.beforeAnswer = async (req) => {
    if (req.kind === VectorKind.VECTOR_KIND_TOWER) towerArrived();
    else await Promise.race([towerSeen, new Promise((r) => setTimeout(r, 2000).unref())]);
  };
  spans.reset();
  try {
    await api.rank({ userId: 'u1', candidateItemIds: ['i4', 'i5', 'i6'] });
  } finally {
    delete h.store.data.beforeAnswer;
  }
  await eventually(() => spans.getFinishedSpans().some((s) => s.name === 'pinrank.v1.Ranker/Rank' && s.kind === SpanKind.SERVER));
  const finished = spans.getFinishedSpans();
  const rank = finished.find((s) => s.name === 'pinrank.v1.Ranker/Rank' && s.kind === SpanKind.SERVER);
  const lookups = finished.filter((s) => s.name === 'pinrank.v1.EmbeddingStore/GetEmbeddings' && s.kind === SpanKind.CLIENT);
  expect(lookups).toHaveLength(2);
  // Siblings: both children of the Rank span, in its trace.
  for (const l of lookups) {
    expect(l.parentSpanContext?.spanId).toBe(rank?.spanContext().spanId);
    expect(l.spanContext().traceId).toBe(rank?.spanContext().traceId);
  }
  const [a, b] = lookups as [ReadableSpan, ReadableSpan];
  // Overlapping: each started before the other ended.
  expect(ns(a.startTime) < ns(b.endTime) && ns(b.startTime) < ns(a.endTime)).toBe(true);
});
