import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_IDENTITIES } from '@pinrank/contracts';
import { type LocalPki } from '@pinrank/service-kit';
import { type ServiceSpec } from './managed-process';
import { STACK_IDENTITIES, stackClientTls, stackTlsEnv } from './stack-pki';

/** Where a local stack keeps its data and which ports it uses. */
export interface LocalStackOptions {
  /** Repository root (models/, proto/, apps/). */
  root: string;
  /** Data directory (world, snapshots, LMDB files). */
  dataDir: string;
  /** Host the services bind to. */
  host: string;
  /** First of the stack's gRPC ports; the README's defaults when 50050. */
  basePort: number;
  /** Admin token shared by the stack (generated when absent). */
  adminToken?: string;
  /** Optional Redis URL: feature-server and embedding-store use Redis instead of LMDB. */
  redisUrl?: string;
  /** Optional NATS URL: feature-server also consumes the action stream from JetStream. */
  natsUrl?: string;
  /** Partitions of that action stream (FEATURE_SERVER_NATS_PARTITIONS); default 1. */
  natsPartitions?: number;
  /** How feature-server connects to NATS: TLS presenting its own certificate (trusting `caFile` over the stack's CA), and credentials (absolute paths). */
  natsSecurity?: StackNatsSecurity;
  /** The stack's certificates: every service runs mutual TLS with its policy enforced. Without: plaintext, data RPCs open (admin RPCs still need the token). */
  pki?: LocalPki;
}

/** The feature-server's NATS security in a local stack: its FEATURE_SERVER_NATS_* variables. */
export interface StackNatsSecurity {
  tls: boolean;
  caFile?: string;
  credsFile?: string;
  user?: string;
  passwordFile?: string;
}

/** The FEATURE_SERVER_NATS_* variables of `s`. */
export function stackNatsSecurityEnv(s: StackNatsSecurity | undefined): Record<string, string> {
  if (!s) return {};
  return {
    ...(s.tls ? { FEATURE_SERVER_NATS_TLS: 'true' } : {}),
    ...(s.caFile ? { FEATURE_SERVER_NATS_CA_FILE: s.caFile } : {}),
    ...(s.credsFile ? { FEATURE_SERVER_NATS_CREDS_FILE: s.credsFile } : {}),
    ...(s.user ? { FEATURE_SERVER_NATS_USER: s.user } : {}),
    ...(s.passwordFile ? { FEATURE_SERVER_NATS_PASSWORD_FILE: s.passwordFile } : {}),
  };
}

/** Ports of a stack whose router listens on `base` (the README's table for 50050). */
export function stackPorts(base: number): Record<'router' | 'featureServer' | 'embeddingStore' | 'gpu' | 'cpu', number> {
  return { router: base, featureServer: base + 1, embeddingStore: base + 2, gpu: base + 11, cpu: base + 12 };
}

/** Every port a stack whose router listens on `base` binds, by what binds it: each service's gRPC port and its metrics port (1000 above). */
export function stackPortsInUse(base: number): Array<{ what: string; port: number }> {
  const names = { router: 'router', featureServer: 'feature-server', embeddingStore: 'embedding-store', gpu: 'gpu-worker', cpu: 'cpu-worker' } as const;
  return Object.entries(stackPorts(base)).flatMap(([key, port]) => {
    const name = names[key as keyof typeof names];
    return [
      { what: `${name} gRPC`, port },
      { what: `${name} metrics`, port: port + METRICS_PORT_OFFSET },
    ];
  });
}

/** A service's metrics port is its gRPC port plus this. */
const METRICS_PORT_OFFSET = 1000;

/**
 * The tracing variables a local stack adds to the services' environment: none
 * when the caller set any standard OpenTelemetry export variable (the services
 * then follow OTEL_* as documented), otherwise `OTEL_TRACES_EXPORTER=none`,
 * since a laptop has no collector at the default endpoint.
 */
export function stackTracingEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const set = (name: string): boolean => (env[name]?.trim() ?? '') !== '';
  const chosen = ['OTEL_TRACES_EXPORTER', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_SDK_DISABLED'].some(set);
  return chosen ? {} : { OTEL_TRACES_EXPORTER: 'none' };
}

/** The five service processes of a one-machine stack, on embedded defaults. */
export function localStackServices(o: LocalStackOptions): { services: ServiceSpec[]; adminToken: string } {
  const p = stackPorts(o.basePort);
  const adminToken = o.adminToken ?? randomBytes(16).toString('hex');
  const addr = (port: number): string => `${o.host}:${port}`;
  const metrics = (port: number): string => `${o.host}:${port + METRICS_PORT_OFFSET}`;
  const common = {
    PINRANK_ADMIN_TOKENS: adminToken,
    TSX_TSCONFIG_PATH: join(o.root, 'tsconfig.base.json'),
    ...stackTracingEnv(process.env),
  };
  const catalog = join(o.dataDir, 'world', 'items.vec');
  const redis = o.redisUrl;
  const secure = (name: keyof typeof STACK_IDENTITIES): Pick<ServiceSpec, 'env' | 'healthTls'> =>
    o.pki
      ? { env: stackTlsEnv(o.pki, STACK_IDENTITIES[name]), healthTls: stackClientTls(o.pki, SERVICE_IDENTITIES.operator) }
      : { env: { PINRANK_AUTHZ: 'off' } };
  const withSecurity = (spec: ServiceSpec, name: keyof typeof STACK_IDENTITIES): ServiceSpec => {
    const s = secure(name);
    return { ...spec, env: { ...spec.env, ...s.env }, ...(s.healthTls ? { healthTls: s.healthTls } : {}) };
  };
  const services: ServiceSpec[] = [
    {
      name: 'embedding-store',
      app: 'embedding-store',
      args: [],
      address: addr(p.embeddingStore),
      metricsAddress: metrics(p.embeddingStore),
      env: {
        ...common,
        EMBEDDING_STORE_ADDR: addr(p.embeddingStore),
        EMBEDDING_STORE_METRICS_ADDR: metrics(p.embeddingStore),
        EMBEDDING_STORE_MODEL_ROOT: join(o.root, 'models'),
        ...(existsSync(catalog) ? { EMBEDDING_STORE_CATALOG_FILE: catalog } : {}),
        ...(redis
          ? { EMBEDDING_STORE_BACKEND: 'redis', EMBEDDING_STORE_REDIS_URL: redis }
          : { EMBEDDING_STORE_BACKEND: 'lmdb', EMBEDDING_STORE_LMDB_PATH: join(o.dataDir, 'embedding-store') }),
      },
    },
    {
      name: 'feature-server',
      app: 'feature-server',
      args: [],
      address: addr(p.featureServer),
      metricsAddress: metrics(p.featureServer),
      env: {
        ...common,
        FEATURE_SERVER_ADDR: addr(p.featureServer),
        FEATURE_SERVER_METRICS_ADDR: metrics(p.featureServer),
        FEATURE_SERVER_EMBEDDING_STORE_ADDR: addr(p.embeddingStore),
        ...(redis
          ? { FEATURE_SERVER_BACKEND: 'redis', FEATURE_SERVER_REDIS_URL: redis }
          : { FEATURE_SERVER_BACKEND: 'lmdb', FEATURE_SERVER_LMDB_PATH: join(o.dataDir, 'feature-server') }),
        ...(o.natsUrl ? { FEATURE_SERVER_NATS_URL: o.natsUrl, FEATURE_SERVER_NATS_PARTITIONS: String(o.natsPartitions ?? 1), ...stackNatsSecurityEnv(o.natsSecurity) } : {}),
      },
    },
    ...(['gpu', 'cpu'] as const).map(
      (role): ServiceSpec => ({
        name: `${role}-worker`,
        app: 'ranker',
        args: ['--role', role],
        address: addr(p[role]),
        metricsAddress: metrics(p[role]),
        env: {
          ...common,
          RANKER_ROLE: role,
          RANKER_ADDR: addr(p[role]),
          RANKER_METRICS_ADDR: metrics(p[role]),
          RANKER_MODEL_REPOSITORY: join(o.root, 'models'),
          // Ready means ready: warm every model at one row and at the router's chunk size before reporting SERVING.
          RANKER_WARMUP_BATCH_SIZES: '1,128',
          // The GPU-role worker loads the heads too: where it finds no GPU and computes on the CPU, the
          // router chains encoder and heads on it (RANKER_AUTO_CHAIN) instead of sending [N,1056] through itself.
          ...(role === 'gpu' ? { RANKER_PLACEMENTS: 'gpu,cpu' } : {}),
        },
      }),
    ),
    {
      name: 'router',
      app: 'ranker',
      args: ['--role', 'router'],
      address: addr(p.router),
      metricsAddress: metrics(p.router),
      env: {
        ...common,
        RANKER_ROLE: 'router',
        // One machine runs every service (and often a load generator): stage budgets above the production defaults.
        RANKER_SEQUENCE_TIMEOUT_MS: '500',
        RANKER_EMBEDDINGS_TIMEOUT_MS: '1000',
        RANKER_ADDR: addr(p.router),
        RANKER_METRICS_ADDR: metrics(p.router),
        RANKER_FEATURE_SERVER: addr(p.featureServer),
        RANKER_EMBEDDING_STORE: addr(p.embeddingStore),
        RANKER_GPU_WORKERS: addr(p.gpu),
        RANKER_CPU_WORKERS: addr(p.cpu),
        RANKER_MODEL_REPOSITORY: join(o.root, 'models'),
        ...(existsSync(catalog) ? { RANKER_CATALOG_PATH: catalog } : {}),
      },
    },
  ];
  return { services: services.map((s) => withSecurity(s, s.name as keyof typeof STACK_IDENTITIES)), adminToken };
}
