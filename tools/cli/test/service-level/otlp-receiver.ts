import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** One span as received over OTLP/HTTP JSON, flattened. */
export interface ReceivedSpan {
  /** `service.name` of the exporting process. */
  service: string;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP span kind (1 internal, 2 server, 3 client, 4 producer, 5 consumer). */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** Attributes of the exporting process's resource. */
  resource: Record<string, string | number | boolean>;
  /** OTLP status code (0 unset, 1 ok, 2 error). */
  statusCode: number;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpValue;
}
interface OtlpSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number;
  attributes?: OtlpKeyValue[];
  status?: { code?: number };
}
interface OtlpTraces {
  resourceSpans?: Array<{ resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
}

/** OTLP JSON ids are hex; some encoders send base64 — normalise to lower-case hex. */
function hexId(id: string | undefined, bytes: number): string {
  if (!id) return '';
  if (new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(id)) return id.toLowerCase();
  return Buffer.from(id, 'base64').toString('hex');
}

function flatten(kvs: OtlpKeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of kvs ?? []) {
    if (!value) continue;
    if (value.stringValue !== undefined) out[key] = value.stringValue;
    else if (value.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue;
    else if (value.boolValue !== undefined) out[key] = value.boolValue;
  }
  return out;
}

/** Flattens one OTLP/JSON ExportTraceServiceRequest body into spans. */
export function parseOtlpTraces(body: OtlpTraces): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const resource = flatten(rs.resource?.attributes);
    const service = String(resource['service.name'] ?? '');
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          service,
          traceId: hexId(s.traceId, 16),
          spanId: hexId(s.spanId, 8),
          parentSpanId: hexId(s.parentSpanId, 8),
          name: s.name ?? '',
          kind: s.kind ?? 0,
          attributes: flatten(s.attributes),
          resource,
          statusCode: s.status?.code ?? 0,
        });
      }
    }
  }
  return spans;
}

/**
 * A minimal OTLP/HTTP collector for tests: accepts `POST /v1/traces` with a
 * JSON body (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) and keeps the spans.
 */
export class OtlpJsonReceiver {
  /** Every span received so far, in arrival order. */
  readonly spans: ReceivedSpan[] = [];
  /** Requests the receiver could not parse (a test should expect none). */
  readonly errors: string[] = [];
  private constructor(
    private readonly server: Server,
    /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT. */
    readonly endpoint: string,
  ) {}

  /** Starts listening on 127.0.0.1 on a free port. */
  static async start(): Promise<OtlpJsonReceiver> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('OTLP receiver: no port');
    const receiver = new OtlpJsonReceiver(server, `http://127.0.0.1:${address.port}`);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => receiver.handle(req, res));
    return receiver;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      try {
        this.spans.push(...parseOtlpTraces(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpTraces));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (err) {
        this.errors.push(`${req.headers['content-type'] ?? '?'}: ${(err as Error).message}`);
        res.writeHead(400).end();
      }
    });
  }

  /** Spans of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  /** Polls until `predicate` holds over the received spans, or throws after `timeoutMs`. */
  async waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs: number, what: string): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!predicate(this.spans)) {
      if (Date.now() > until) throw new Error(`OTLP receiver: ${what} not seen within ${timeoutMs} ms (${this.spans.length} spans received)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops listening. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
