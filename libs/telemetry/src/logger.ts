import { trace, type Span } from '@opentelemetry/api';
import pino, { type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Service name, written as `service` on every line. */
  name: string;
  /** Minimum level; default "info". */
  level?: LevelWithSilent;
  /** Where lines go; default stdout. Tests pass a stream to capture lines. */
  destination?: DestinationStream;
}

/**
 * A pino JSON logger whose lines carry `trace_id` and `span_id` of the span
 * active when the line is written (when there is one).
 */
export function createLogger(options: LoggerOptions): Logger {
  const pinoOptions = {
    name: options.name,
    level: options.level ?? 'info',
    base: { service: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin(_merge: object, _level: number, logger: Logger) {
      // A logger bound to a span (loggerForSpan) already carries its ids.
      if ('trace_id' in logger.bindings()) return {};
      const span = trace.getActiveSpan();
      return span ? traceFields(span) : {};
    },
  };
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}

/** The `trace_id`/`span_id` fields of a span, for log lines and error details. */
export function traceFields(span: Span): { trace_id: string; span_id: string } {
  const sc = span.spanContext();
  return { trace_id: sc.traceId, span_id: sc.spanId };
}

/** A child logger bound to one span, so its lines carry that span's ids whatever context is active. */
export function loggerForSpan(logger: Logger, span: Span): Logger {
  return logger.child(traceFields(span));
}
