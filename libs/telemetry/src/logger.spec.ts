import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createLogger, loggerForSpan } from './logger';
import { startTracing } from './tracing';

function sink(): { stream: Writable; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c.toString());
      cb();
    },
  });
  return { stream, text: () => chunks.join(''), lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes JSON lines with the service name and the active span ids', async () => {
    const tracing = startTracing({ serviceName: 'log-test', exporter: 'none', spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] });
    const { stream, lines, text } = sink();
    const logger = createLogger({ name: 'log-test', destination: stream });
    logger.info('outside');
    const span = tracing.tracer.startSpan('op');
    context.with(trace.setSpan(context.active(), span), () => logger.info({ k: 1 }, 'inside'));
    context.with(trace.setSpan(context.active(), span), () => loggerForSpan(logger, span).warn('bound'));
    span.end();
    const [outside, inside, bound] = lines();
    expect(outside).toMatchObject({ service: 'log-test', msg: 'outside', level: 30 });
    expect(outside).not.toHaveProperty('trace_id');
    expect(inside).toMatchObject({ msg: 'inside', k: 1, trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId });
    expect(bound).toMatchObject({ msg: 'bound', trace_id: span.spanContext().traceId });
    // A span-bound logger inside that span's context writes the ids once.
    expect(text().split('\n')[2]?.match(/"trace_id"/g)).toHaveLength(1);
    await tracing.shutdown();
  });
});
