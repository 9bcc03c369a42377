// Generates seeded cases over every (process, RPC) of the registry and runs
// them with bounded concurrency, counting the statuses each kind of case got.
import { status } from '@grpc/grpc-js';
import { Rng } from '@pinrank/sim';
import { type StackServiceName } from '../../src/stack/ephemeral-stack';
import { type CallOutcome, type CallShape, type RawClient } from './fuzz-client';
import { type FuzzContext, type FuzzTarget, type MethodPlan } from './fuzz-registry';
import { MessageGenerator, type FuzzDictionary } from './message-generator';
import { type ProtoSchema } from './proto-schema';
import { WIRE_MUTATIONS } from './wire-mutations';

/** One fuzz call. */
export interface FuzzCase {
  index: number;
  process: StackServiceName;
  path: string;
  shape: CallShape;
  /** How the request was made: `schema`, `seed`, or either damaged by a named wire mutation. */
  kind: string;
  messages: Buffer[];
  token: string | undefined;
  /** The per-request status inside a reply, for methods that have one. */
  replyStatus?: MethodPlan['replyStatus'];
}

/** What a fuzz run saw. */
export interface FuzzReport {
  cases: number;
  /** Status name → count. */
  statuses: Record<string, number>;
  /** Case kind → count. */
  kinds: Record<string, number>;
  /** Calls per method path. */
  perMethod: Record<string, number>;
  /** Statuses other than OK per method path (what each RPC refused, and how). */
  refusals: Record<string, Record<string, number>>;
  /** Calls answered INTERNAL or UNKNOWN, with what was sent. */
  serverErrors: Array<{ case: string; code: string; details: string }>;
  /** Calls that ran into their deadline, each with the calls in flight on the same process meanwhile. */
  hangs: Array<{ case: string; alongside: string[] }>;
  /** The slowest calls, with their milliseconds. */
  slowest: Array<{ case: string; ms: number }>;
}

/** Everything case generation needs. */
export interface CaseSource {
  seed: number;
  count: number;
  targets: readonly FuzzTarget[];
  schema: ProtoSchema;
  context: FuzzContext;
  dictionary: FuzzDictionary;
  adminToken: string;
}

/**
 * The cases of a run, deterministic for a seed: (process, method) pairs in
 * turn, so every RPC on every process gets its share.
 */
export function generateCases(src: CaseSource): FuzzCase[] {
  const rng = new Rng(src.seed);
  const generator = new MessageGenerator(src.schema, rng, src.dictionary);
  const pairs = src.targets.flatMap((t) => t.processes.flatMap((p) => t.methods.map((m) => ({ target: t, process: p, method: m, plan: t.plans[m.key] ?? {} }))));
  const cases: FuzzCase[] = [];
  for (let index = 0; index < src.count; index++) {
    const { process, method, plan } = pairs[index % pairs.length]!;
    const streams = method.shape === 'client_stream' || method.shape === 'bidi';
    const n = streams ? 1 + rng.int(3) : 1;
    const kinds: string[] = [];
    const messages = Array.from({ length: n }, () => {
      const { bytes, kind } = oneMessage(rng, generator, src, method.path, plan);
      kinds.push(kind);
      return bytes;
    });
    const withToken = plan.admin === 'sometimes' ? rng.chance(0.5) : false;
    cases.push({
      index,
      process,
      path: method.path,
      shape: method.shape,
      kind: kinds.join('+'),
      messages,
      token: withToken ? src.adminToken : undefined,
      ...(plan.replyStatus ? { replyStatus: plan.replyStatus } : {}),
    });
  }
  return cases;
}

function oneMessage(rng: Rng, generator: MessageGenerator, src: CaseSource, path: string, plan: MethodPlan): { bytes: Buffer; kind: string } {
  let schemaMessage: (() => Buffer) | undefined;
  try {
    const info = src.schema.requestType(path);
    schemaMessage = () => generator.message(info);
  } catch {
    schemaMessage = undefined; // not in proto/ (reflection): seeds and damage only
  }
  const seed = plan.seed;
  const r = rng.next();
  let base: { bytes: Buffer; kind: string };
  if (seed && (r < 0.45 || !schemaMessage)) base = { bytes: seed(rng, src.context), kind: 'seed' };
  else if (schemaMessage) base = { bytes: schemaMessage(), kind: 'schema' };
  else base = { bytes: Buffer.alloc(0), kind: 'empty' };
  if (!rng.chance(0.3)) return base;
  const mutation = WIRE_MUTATIONS[rng.int(WIRE_MUTATIONS.length)]!;
  return { bytes: mutation.apply(base.bytes, rng), kind: `${base.kind}/${mutation.name}` };
}

/** Runs cases with at most `concurrency` calls in flight. */
export async function runCases(
  cases: readonly FuzzCase[],
  clientFor: (process: StackServiceName, path: string) => RawClient,
  o: { concurrency: number; deadlineMs: number },
): Promise<FuzzReport> {
  const report: FuzzReport = { cases: cases.length, statuses: {}, kinds: {}, perMethod: {}, refusals: {}, serverErrors: [], hangs: [], slowest: [] };
  let next = 0;
  const spans: Array<{ process: string; label: string; from: number; to: number }> = [];
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const c = cases[next++]!;
      const client = clientFor(c.process, c.path);
      const started = performance.now();
      const outcome: CallOutcome = await client.call(c.path, c.shape, c.messages, { token: c.token, deadlineMs: o.deadlineMs });
      const ms = performance.now() - started;
      const name = status[outcome.code] ?? String(outcome.code);
      const label = `#${c.index} ${c.process} ${c.path} (${c.kind}, ${c.messages.map((m) => m.length).join('+')} bytes${c.token ? ', admin' : ''})`;
      report.statuses[name] = (report.statuses[name] ?? 0) + 1;
      const kind = c.kind.split('+')[0]!.includes('/') ? 'damaged' : c.kind.split('+')[0]!;
      report.kinds[kind] = (report.kinds[kind] ?? 0) + 1;
      report.perMethod[c.path] = (report.perMethod[c.path] ?? 0) + 1;
      if (outcome.code !== status.OK) {
        const r = (report.refusals[c.path] ??= {});
        r[name] = (r[name] ?? 0) + 1;
      }
      if (outcome.code === status.INTERNAL || outcome.code === status.UNKNOWN) report.serverErrors.push({ case: label, code: name, details: outcome.details.slice(0, 300) });
      // A stream that answers each request with its own status: those statuses count as answers too.
      for (const reply of c.replyStatus ? outcome.replies : []) {
        const s = c.replyStatus?.(reply);
        if (!s) continue;
        const inner = `${status[s.code] ?? String(s.code)} (in stream)`;
        report.statuses[inner] = (report.statuses[inner] ?? 0) + 1;
        if (s.code === status.INTERNAL || s.code === status.UNKNOWN) report.serverErrors.push({ case: label, code: inner, details: s.message.slice(0, 300) });
      }
      spans.push({ process: c.process, label: `${label} → ${name} in ${Math.round(ms)} ms`, from: started, to: started + ms });
      if (outcome.timedOut) report.hangs.push({ case: label, alongside: [] });
      report.slowest.push({ case: `${label} → ${name}`, ms: Math.round(ms) });
      report.slowest = report.slowest.sort((a, b) => b.ms - a.ms).slice(0, 5);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, () => worker()));
  for (const hang of report.hangs) {
    const self = spans.find((sp) => sp.label.startsWith(hang.case));
    if (!self) continue;
    hang.alongside = spans.filter((sp) => sp !== self && sp.process === self.process && sp.from < self.to && sp.to > self.from).map((sp) => sp.label);
  }
  return report;
}
