// Policy checks of the rendered manifests, for every overlay: the Pod Security
// "restricted" profile, one ServiceAccount per component without token,
// NetworkPolicies selecting every component, cert-manager certificates
// carrying each component's SPIFFE ID mounted where the service kit reads them,
// explicit bind addresses, topology spread, and digests in production.
// No cluster is needed (or available in CI): this reads what kustomize renders.
import { join } from 'node:path';
import { SERVICE_IDENTITIES } from '@pinrank/contracts';
import { renderKustomize, type K8sObject } from './render';

const deployDir = join(__dirname, '..');
const SPIFFE_PREFIX = 'spiffe://pinrank.local/ns/pinrank/sa/';
const TLS_DIR = '/var/run/pinrank/tls';
const ALLOWED_VOLUMES = ['configMap', 'secret', 'emptyDir', 'persistentVolumeClaim', 'projected', 'downwardAPI', 'ephemeral', 'csi'];

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}
interface Container {
  name: string;
  image: string;
  securityContext?: SecurityContext;
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string } }[];
  ports?: { containerPort: number; hostPort?: number; name?: string }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  readinessProbe?: { grpc?: { port: number } };
}
interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: SecurityContext;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  containers: Container[];
  initContainers?: Container[];
  volumes?: Array<Record<string, unknown> & { name: string; secret?: { secretName: string } }>;
  topologySpreadConstraints?: { topologyKey: string; labelSelector?: { matchLabels?: Record<string, string> } }[];
}
interface Workload {
  kind: string;
  name: string;
  labels: Record<string, string>;
  pod: PodSpec;
}
interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

function workloads(objects: K8sObject[]): Workload[] {
  const out: Workload[] = [];
  for (const o of objects) {
    type Template = { metadata: { labels: Record<string, string> }; spec: PodSpec };
    if (o.kind === 'Deployment') {
      const t = (o.spec as { template: Template }).template;
      out.push({ kind: o.kind, name: o.metadata.name, labels: t.metadata.labels, pod: t.spec });
    } else if (o.kind === 'CronJob') {
      const t = (o.spec as { jobTemplate: { spec: { template: Template } } }).jobTemplate.spec.template;
      out.push({ kind: o.kind, name: o.metadata.name, labels: t.metadata.labels, pod: t.spec });
    }
  }
  return out;
}

function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => (e.operator === 'In' ? (e.values ?? []).includes(labels[e.key] ?? '') : false));
  return byLabels && byExpressions;
}

describe.each(['local', 'production'])('overlay %s', (overlay) => {
  const objects = renderKustomize(join(deployDir, 'k8s', 'overlays', overlay));
  const byKind = (kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);
  const all = workloads(objects);
  const containers = (w: Workload): Container[] => [...w.pod.containers, ...(w.pod.initContainers ?? [])];

  it('enforces the restricted Pod Security profile on the namespace', () => {
    const ns = byKind('Namespace').find((n) => n.metadata.name === 'pinrank');
    expect(ns?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('has six workloads: five services and the embedding job', () => {
    expect(all.map((w) => w.name).sort()).toEqual(['embedding-store', 'feature-server', 'pinnerformer-embed', 'ranker-cpu', 'ranker-gpu', 'ranker-router']);
  });

  it.each(['embedding-store', 'feature-server', 'pinnerformer-embed', 'ranker-cpu', 'ranker-gpu', 'ranker-router'])('%s meets the restricted profile with numeric users', (name) => {
    const w = all.find((x) => x.name === name) as Workload;
    const pod = w.pod.securityContext ?? {};
    expect(pod.runAsNonRoot).toBe(true);
    expect(Number.isInteger(pod.runAsUser) && (pod.runAsUser as number) >= 1000).toBe(true);
    expect(Number.isInteger(pod.runAsGroup) && (pod.runAsGroup as number) >= 1000).toBe(true);
    expect(pod.seccompProfile?.type).toBe('RuntimeDefault');
    expect([w.pod.hostNetwork, w.pod.hostPID, w.pod.hostIPC].some(Boolean)).toBe(false);
    for (const v of w.pod.volumes ?? []) expect(Object.keys(v).filter((k) => k !== 'name').every((k) => ALLOWED_VOLUMES.includes(k)) ? v.name : `${v.name} (${Object.keys(v).join(',')})`).toBe(v.name);
    for (const c of containers(w)) {
      const sc = c.securityContext ?? {};
      expect({ container: c.name, allowPrivilegeEscalation: sc.allowPrivilegeEscalation, readOnlyRootFilesystem: sc.readOnlyRootFilesystem, privileged: sc.privileged ?? false }).toEqual({
        container: c.name,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
      });
      expect(sc.capabilities?.drop).toContain('ALL');
      expect(sc.capabilities?.add ?? []).toEqual([]);
      if (sc.runAsUser !== undefined) expect(sc.runAsUser).toBeGreaterThanOrEqual(1000);
      expect((c.ports ?? []).filter((p) => p.hostPort !== undefined)).toEqual([]);
      // With a read-only root, /tmp must be a volume.
      expect(c.volumeMounts?.some((m) => m.mountPath === '/tmp')).toBe(true);
    }
  });

  it('gives each workload its own ServiceAccount, with no API token mounted', () => {
    const accounts = new Map(byKind('ServiceAccount').map((s) => [s.metadata.name, s as K8sObject & { automountServiceAccountToken?: boolean }]));
    const used = all.map((w) => w.pod.serviceAccountName);
    expect(new Set(used).size).toBe(all.length);
    for (const w of all) {
      const sa = accounts.get(w.pod.serviceAccountName ?? '');
      expect(sa ? w.name : `${w.name}: no ServiceAccount ${w.pod.serviceAccountName}`).toBe(w.name);
      expect(sa?.automountServiceAccountToken).toBe(false);
      expect(w.pod.automountServiceAccountToken).toBe(false);
      expect(Object.values(SERVICE_IDENTITIES)).toContain(w.pod.serviceAccountName);
    }
  });

  it('denies by default and selects every workload with a NetworkPolicy of its own', () => {
    const policies = byKind('NetworkPolicy').map((p) => p.spec as { podSelector: LabelSelector; policyTypes: string[] });
    const deny = policies.find((p) => Object.keys(p.podSelector).length === 0 && p.policyTypes.includes('Ingress') && p.policyTypes.includes('Egress') && !('ingress' in p) && !('egress' in p));
    expect(deny).toBeDefined();
    for (const w of all) {
      const own = policies.filter((p) => Object.keys(p.podSelector).length > 0 && selects(p.podSelector, w.labels));
      expect(own.length > 0 ? w.name : `${w.name}: no NetworkPolicy selects it`).toBe(w.name);
    }
  });

  it("mounts each workload's cert-manager certificate (its SPIFFE ID) where PINRANK_TLS_* point", () => {
    const certs = byKind('Certificate').map((c) => c.spec as { secretName: string; uris?: string[]; issuerRef: { name: string } });
    const env = (byKind('ConfigMap').find((c) => c.metadata.name === 'pinrank-env')?.data ?? {}) as Record<string, string>;
    for (const key of ['PINRANK_TLS_CERT_FILE', 'PINRANK_TLS_KEY_FILE', 'PINRANK_TLS_CLIENT_CA_FILE', 'PINRANK_TLS_CA_FILE']) expect(env[key]).toMatch(new RegExp(`^${TLS_DIR}/`));
    expect(env['PINRANK_AUTHZ']).toBe('enforce');
    for (const w of all) {
      const sa = w.pod.serviceAccountName as string;
      const cert = certs.find((c) => c.uris?.includes(`${SPIFFE_PREFIX}${sa}`));
      expect(cert ? sa : `${sa}: no Certificate with its SPIFFE ID`).toBe(sa);
      const volume = w.pod.volumes?.find((v) => v.secret?.secretName === cert?.secretName);
      expect(volume).toBeDefined();
      const mount = w.pod.containers[0]?.volumeMounts?.find((m) => m.name === volume?.name);
      expect(mount).toMatchObject({ mountPath: TLS_DIR, readOnly: true });
    }
    const issuers = new Set(byKind('Issuer').map((i) => i.metadata.name));
    for (const c of certs) expect(issuers.has(c.issuerRef.name)).toBe(true);
  });

  it('lets only feature-server and the action producers reach NATS, feature-server over mutual TLS where the stream is configured', () => {
    const env = (byKind('ConfigMap').find((c) => c.metadata.name === 'pinrank-env')?.data ?? {}) as Record<string, string>;
    type Peer = { podSelector?: LabelSelector; namespaceSelector?: LabelSelector };
    type Rule = { from?: Peer[]; to?: Peer[]; ports?: Array<{ port: number }> };
    const policies = byKind('NetworkPolicy').map((p) => ({ name: p.metadata.name, spec: p.spec as { podSelector: LabelSelector; ingress?: Rule[]; egress?: Rule[] } }));
    const natsPod = { 'app.kubernetes.io/name': 'nats' };
    const fsPolicy = policies.find((p) => p.name === 'feature-server')?.spec;
    const reachesNats = (fsPolicy?.egress ?? []).some((r) => r.ports?.some((p) => p.port === 4222) && r.to?.some((t) => t.podSelector && selects(t.podSelector, natsPod)));
    const natsIngress = policies.find((p) => selects(p.spec.podSelector, natsPod) && Object.keys(p.spec.podSelector).length > 0)?.spec.ingress ?? [];
    const clientRule = natsIngress.find((r) => r.ports?.some((p) => p.port === 4222));
    const admitted = (labels: Record<string, string>): boolean => (clientRule?.from ?? []).some((f) => f.podSelector !== undefined && selects(f.podSelector, labels));
    expect(reachesNats).toBe(true);
    expect([admitted({ 'app.kubernetes.io/name': 'feature-server' }), admitted({ 'pinrank.dev/action-producer': 'true' }), admitted({ 'app.kubernetes.io/name': 'ranker-router' })]).toEqual([true, true, false]);
    if (overlay === 'local') {
      expect(env['FEATURE_SERVER_NATS_URL']).toBeUndefined();
      expect(env['FEATURE_SERVER_NATS_REPLICAS']).toBeUndefined();
    } else {
      expect(env['FEATURE_SERVER_NATS_URL']).toMatch(/^tls:\/\/nats\.pinrank\.svc\.cluster\.local:4222$/);
      expect(env['FEATURE_SERVER_NATS_TLS']).toBe('true');
      expect(env['FEATURE_SERVER_NATS_PARTITIONS']).toBe('5');
      expect(env['FEATURE_SERVER_NATS_REPLICAS']).toBe('3');
    }
  });

  it('connects both stores to Redis over TLS only (rediss:// everywhere), presenting their own certificates', () => {
    const env = (byKind('ConfigMap').find((c) => c.metadata.name === 'pinrank-env')?.data ?? {}) as Record<string, string>;
    const urls = ['FEATURE_SERVER_REDIS_URL', 'EMBEDDING_STORE_REDIS_URL', 'EMBEDDING_STORE_REDIS_READ_URLS'].flatMap((k) => (env[k] ?? '').split(','));
    expect(urls.length).toBe(4);
    expect(urls.filter((u) => !u.startsWith('rediss://'))).toEqual([]);
    expect([env['FEATURE_SERVER_REDIS_TLS'], env['EMBEDDING_STORE_REDIS_TLS']]).toEqual(['true', 'true']);
    const redisCert = byKind('Certificate').find((c) => c.metadata.name === 'redis')?.spec as { dnsNames?: string[] } | undefined;
    for (const u of urls) expect(redisCert?.dnsNames?.some((d) => (d.startsWith('*.') ? new URL(u).hostname.endsWith(d.slice(1)) : new URL(u).hostname === d))).toBe(true);
  });

  it('binds every service address explicitly and probes the plaintext health port', () => {
    for (const w of all.filter((x) => x.kind === 'Deployment')) {
      const c = w.pod.containers[0] as Container;
      const vars = new Map((c.env ?? []).map((e) => [e.name, e.value ?? '']));
      const addr = [...vars].filter(([k]) => /_(ADDR|METRICS_ADDR|HEALTH_ADDR)$/.test(k));
      expect(addr.map(([k]) => k.replace(/^.*?_(ADDR|METRICS_ADDR|HEALTH_ADDR)$/, '$1')).sort()).toEqual(['ADDR', 'HEALTH_ADDR', 'METRICS_ADDR']);
      for (const [, v] of addr) expect(v).toMatch(/^0\.0\.0\.0:\d+$/);
      const health = Number(addr.find(([k]) => k.endsWith('_HEALTH_ADDR'))?.[1].split(':')[1]);
      expect(c.readinessProbe?.grpc?.port).toBe(health);
    }
  });

  it('spreads every pool over zones and nodes', () => {
    for (const w of all.filter((x) => x.kind === 'Deployment')) {
      const keys = (w.pod.topologySpreadConstraints ?? []).filter((t) => selects(t.labelSelector ?? {}, w.labels)).map((t) => t.topologyKey);
      expect({ w: w.name, keys: keys.sort() }).toEqual({ w: w.name, keys: ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'] });
    }
  });

  if (overlay === 'production') {
    it('pins every image by digest', () => {
      for (const w of all) for (const c of containers(w)) expect(c.image).toMatch(/@sha256:[0-9a-f]{64}$/);
    });
  }
});
