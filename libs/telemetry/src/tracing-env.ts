import { type OtlpProtocol, type TracesExporterKind, type TracingOptions } from './tracing';

const EXPORTERS: readonly TracesExporterKind[] = ['otlp', 'console', 'none'];
const PROTOCOLS: readonly OtlpProtocol[] = ['grpc', 'http/protobuf', 'http/json'];

/** Thrown by {@link tracingOptionsFromEnv} when an OTEL_* variable has a value it cannot use. */
export class TelemetryConfigError extends Error {
  override readonly name = 'TelemetryConfigError';
}

function parseKeyValues(variable: string, raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of raw.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new TelemetryConfigError(`${variable}: "${part}" is not key=value; expected k1=v1,k2=v2`);
    out[decodeURIComponent(part.slice(0, eq).trim())] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

function checkUrl(variable: string, raw: string): string {
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    return raw;
  } catch {
    throw new TelemetryConfigError(`${variable}: "${raw}" is not an http(s) URL; expected e.g. http://otel-collector:4318`);
  }
}

/**
 * Tracing options from the standard OpenTelemetry variables of an env-like
 * record (apps pass `process.env` at their edge): OTEL_SERVICE_NAME,
 * OTEL_TRACES_EXPORTER (otlp|console|none), OTEL_EXPORTER_OTLP_ENDPOINT,
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL /
 * OTEL_EXPORTER_OTLP_TRACES_PROTOCOL (grpc|http/protobuf|http/json),
 * OTEL_EXPORTER_OTLP_HEADERS, OTEL_RESOURCE_ATTRIBUTES, OTEL_SDK_DISABLED;
 * `serviceVersion` (the app's release) becomes `service.version`.
 * Throws TelemetryConfigError naming the variable and the allowed values.
 */
export function tracingOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  defaultServiceName: string,
  serviceVersion?: string,
): TracingOptions {
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const resourceAttributes = parseKeyValues('OTEL_RESOURCE_ATTRIBUTES', get('OTEL_RESOURCE_ATTRIBUTES') ?? '');
  const serviceName = get('OTEL_SERVICE_NAME') ?? resourceAttributes['service.name'] ?? defaultServiceName;

  let exporter: TracesExporterKind = 'otlp';
  const rawExporter = get('OTEL_TRACES_EXPORTER');
  if (rawExporter !== undefined) {
    const kinds = rawExporter.split(',').map((s) => s.trim());
    if (kinds.length !== 1 || !EXPORTERS.includes(kinds[0] as TracesExporterKind)) {
      throw new TelemetryConfigError(
        `OTEL_TRACES_EXPORTER: "${rawExporter}" is not supported; allowed: ${EXPORTERS.join(', ')} (one value)`,
      );
    }
    exporter = kinds[0] as TracesExporterKind;
  }
  const sdkDisabled = get('OTEL_SDK_DISABLED');
  if (sdkDisabled !== undefined && !['true', 'false'].includes(sdkDisabled.toLowerCase())) {
    throw new TelemetryConfigError(`OTEL_SDK_DISABLED: "${sdkDisabled}" is not a boolean; allowed: true, false`);
  }
  if (sdkDisabled?.toLowerCase() === 'true') exporter = 'none';

  const protocolVar = get('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const rawProtocol = get(protocolVar);
  if (rawProtocol !== undefined && !PROTOCOLS.includes(rawProtocol as OtlpProtocol)) {
    throw new TelemetryConfigError(`${protocolVar}: "${rawProtocol}" is not supported; allowed: ${PROTOCOLS.join(', ')}`);
  }
  const endpoint = get('OTEL_EXPORTER_OTLP_ENDPOINT');
  const tracesEndpoint = get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const headers = get('OTEL_EXPORTER_OTLP_HEADERS');
  return {
    serviceName,
    ...(serviceVersion ? { serviceVersion } : {}),
    exporter,
    ...(rawProtocol !== undefined ? { otlpProtocol: rawProtocol as OtlpProtocol } : {}),
    ...(endpoint !== undefined ? { otlpEndpoint: checkUrl('OTEL_EXPORTER_OTLP_ENDPOINT', endpoint) } : {}),
    ...(tracesEndpoint !== undefined
      ? { otlpTracesEndpoint: checkUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesEndpoint) }
      : {}),
    ...(headers !== undefined ? { otlpHeaders: parseKeyValues('OTEL_EXPORTER_OTLP_HEADERS', headers) } : {}),
    resourceAttributes,
  };
}
