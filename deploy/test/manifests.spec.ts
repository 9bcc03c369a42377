import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { renderKustomize, type K8sObject } from './render';

const deployDir = join(__dirname, '..');
const root = join(deployDir, '..');
const overlays = ['local', 'production'];

describe('monitoring', () => {
  it('renders the prometheus-adapter rules the HPAs depend on, valid against the schemas', () => {
    const objects = renderKustomize(join(deployDir, 'k8s', 'monitoring'));
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['ConfigMap/prometheus-adapter']);
    for (const o of objects) validate(o);
    const rules = (objects[0]?.data ?? {})['config.yaml'] ?? '';
    expect(rules).toContain('inference_inflight_requests');
    expect(rules).toContain("as: '${1}_per_second'");
  });
});

type Validatable = { validate(): void };
type ModelCtor = new (data: unknown) => Validatable;

/** Custom resources kubernetes-models has no schema for; pod-security.spec.ts checks their fields. */
const CUSTOM_RESOURCES = new Set(['cert-manager.io/v1']);

/** Validates an object against the Kubernetes JSON schemas shipped by kubernetes-models. */
function validate(obj: K8sObject): void {
  if (CUSTOM_RESOURCES.has(obj.apiVersion)) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const group = require(`kubernetes-models/${obj.apiVersion}`) as Record<string, ModelCtor | undefined>;
  const Ctor = group[obj.kind];
  if (!Ctor) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  new Ctor(obj).validate();
}

interface Container {
  name: string;
  image: string;
  readinessProbe?: { grpc?: { port: number; service?: string } };
  livenessProbe?: { grpc?: { port: number } };
  lifecycle?: { preStop?: unknown };
  resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
  envFrom?: { configMapRef?: { name: string } }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string }; resourceFieldRef?: { containerName?: string; resource: string; divisor?: string } } }[];
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  nodeSelector?: Record<string, string>;
  tolerations?: { key: string }[];
}
const podSpec = (d: K8sObject): PodSpec => (d.spec as { template: { spec: PodSpec } }).template.spec;

describe.each(overlays)('overlay %s', (overlay) => {
  const objects = renderKustomize(join(deployDir, 'k8s', 'overlays', overlay));
  const byKind = (kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);
  const deployments = byKind('Deployment');

  it('renders and every object is valid against the Kubernetes schemas', () => {
    expect(objects.length).toBeGreaterThan(15);
    for (const o of objects) {
      try {
        validate(o);
      } catch (err) {
        throw new Error(`${overlay}: ${o.kind}/${o.metadata.name}: ${(err as Error).message}`);
      }
    }
  });

  it('has the five services, each with gRPC probes, a drain window and a disruption budget', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(
      ['embedding-store', 'feature-server', 'ranker-cpu', 'ranker-gpu', 'ranker-router'],
    );
    const pdbs = new Set(byKind('PodDisruptionBudget').map((p) => p.metadata.name));
    for (const d of deployments) {
      const spec = podSpec(d);
      const c = spec.containers[0] as Container;
      expect(c.readinessProbe?.grpc?.port).toBeGreaterThan(0);
      expect(c.readinessProbe?.grpc?.service).toMatch(/\./);
      expect(c.livenessProbe?.grpc?.port).toBe(c.readinessProbe?.grpc?.port);
      expect(c.lifecycle?.preStop).toBeDefined();
      expect(spec.terminationGracePeriodSeconds ?? 30).toBeGreaterThanOrEqual(30);
      expect(pdbs.has(d.metadata.name)).toBe(true);
    }
  });

  it('refers only to objects that exist (services, HPA targets, config maps, secrets)', () => {
    const names = (kind: string): Set<string> => new Set(byKind(kind).map((o) => o.metadata.name));
    const deps = names('Deployment');
    for (const s of byKind('Service')) {
      const sel = (s.spec as { selector: Record<string, string> }).selector['app.kubernetes.io/name'];
      expect(deps.has(sel as string)).toBe(true);
    }
    for (const h of byKind('HorizontalPodAutoscaler')) {
      expect(deps.has((h.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name)).toBe(true);
    }
    const cms = names('ConfigMap');
    const secrets = names('Secret');
    for (const d of deployments) {
      for (const c of podSpec(d).containers) {
        for (const e of c.envFrom ?? []) expect(cms.has(e.configMapRef?.name as string)).toBe(true);
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef?.name;
          // production expects the admin Secret to be provided out of band
          if (ref && overlay === 'local') expect(secrets.has(ref)).toBe(true);
        }
      }
    }
  });

  it('sizes the CPU worker’s ONNX Runtime threads to the CPUs its pod requests, not the node’s cores', () => {
    const worker = deployments.find((d) => d.metadata.name === 'ranker-cpu');
    const c = podSpec(worker as K8sObject).containers[0] as Container;
    const threads = c.env?.find((e) => e.name === 'RANKER_INTRA_OP_THREADS');
    expect(threads?.valueFrom?.resourceFieldRef).toMatchObject({ containerName: c.name, resource: 'requests.cpu', divisor: '1' });
    expect(Number(c.resources?.requests?.['cpu'])).toBeGreaterThanOrEqual(1);
  });

  it('places GPU workers on the GPU pool in production only', () => {
    const gpu = podSpec(deployments.find((d) => d.metadata.name === 'ranker-gpu') as K8sObject);
    const limits = gpu.containers[0]?.resources?.limits ?? {};
    if (overlay === 'production') {
      expect(limits['nvidia.com/gpu']).toBe(1);
      expect(gpu.tolerations?.some((t) => t.key === 'nvidia.com/gpu')).toBe(true);
      expect(gpu.nodeSelector).toBeDefined();
    } else {
      expect(limits['nvidia.com/gpu']).toBeUndefined();
      expect(gpu.nodeSelector).toBeUndefined();
    }
  });

  it('runs the batch embedding job as an indexed job sharded by user range', () => {
    const cron = byKind('CronJob')[0] as K8sObject;
    const job = (cron.spec as { jobTemplate: { spec: { completionMode: string; completions: number; template: { spec: PodSpec } } } })
      .jobTemplate.spec;
    expect(job.completionMode).toBe('Indexed');
    const args = (job.template.spec.containers[0] as Container & { args: string[] }).args;
    expect(args).toEqual(expect.arrayContaining(['embed', '--shards', String(job.completions)]));
    // every flag the job passes is one `pinrank embed` defines
    const embedCommand = readFileSync(join(root, 'tools', 'cli', 'src', 'commands', 'embed.ts'), 'utf8');
    for (const flag of args.filter((a) => a.startsWith('--'))) expect(embedCommand.includes(`'${flag}`) ? flag : `${flag} (unknown)`).toBe(flag);
  });
});

function latestVersion(name: string): string {
  const versions = readdirSync(join(root, 'models', name)).filter((v) => existsSync(join(root, 'models', name, v, 'config.json')));
  versions.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return versions.at(-1) as string;
}

describe('model configs in the router ConfigMap', () => {
  it('are mounted as <name>/<newest version>/config.json, the layout the router reads', () => {
    const router = renderKustomize(join(deployDir, 'k8s', 'overlays', 'local')).find((o) => o.kind === 'Deployment' && o.metadata.name === 'ranker-router') as K8sObject;
    const volumes = (podSpec(router) as PodSpec & { volumes: { name: string; configMap?: { items: { key: string; path: string }[] } }[] }).volumes;
    const items = volumes.find((v) => v.name === 'model-configs')?.configMap?.items ?? [];
    expect(items.length).toBeGreaterThanOrEqual(5);
    for (const { key, path } of items) {
      const name = key.replace(/\.json$/, '');
      expect(path).toBe(`${name}/${latestVersion(name)}/config.json`);
    }
  });

  it('equal the newest config.json of each model in models/ (run deploy/sync-model-configs.mjs)', () => {
    const dir = join(deployDir, 'k8s', 'base', 'model-configs');
    const files = readdirSync(dir);
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) {
      const name = f.replace(/\.json$/, '');
      const latest = join(root, 'models', name, latestVersion(name), 'config.json');
      expect(JSON.parse(readFileSync(join(dir, f), 'utf8'))).toEqual(JSON.parse(readFileSync(latest, 'utf8')));
    }
  });
});

describe('Dockerfiles', () => {
  const dockerDir = join(deployDir, 'docker');
  const files = readdirSync(dockerDir).filter((f) => f.endsWith('.Dockerfile'));

  it.each(files)('%s is multi-stage, pinned, installs from the lock file and runs as non-root', (file) => {
    const text = readFileSync(join(dockerDir, file), 'utf8');
    const lines = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
    const froms = lines.filter((l) => /^FROM\s/i.test(l));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const arg of lines.filter((l) => /^ARG \w+_IMAGE=/.test(l))) expect(arg).toMatch(/:[\w.-]+$/);
    expect(text).not.toMatch(/:latest\b/);
    expect(text).toMatch(/npm ci/);
    expect(text).not.toMatch(/^ADD\s+https?:/m);
    const lastFrom = text.lastIndexOf('\nFROM ');
    // Numeric user and group: the kubelet can only verify runAsNonRoot for a numeric user.
    const user = /\nUSER (\d+):(\d+)\s*$/m.exec(text.slice(lastFrom));
    expect(Number(user?.[1])).toBeGreaterThanOrEqual(1000);
    expect(Number(user?.[2])).toBeGreaterThanOrEqual(1000);
    for (const m of text.matchAll(/^COPY (?!--from)([^\n]+)$/gm)) {
      const sources = (m[1] as string).trim().split(/\s+/).slice(0, -1);
      for (const s of sources) expect(existsSync(join(root, s)) ? s : `${s} (missing)`).toBe(s);
    }
  });

  it('the GPU worker image installs the CUDA libraries and keeps Vulkan for WebGPU', () => {
    const text = readFileSync(join(dockerDir, 'ranker-gpu.Dockerfile'), 'utf8');
    expect(text).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    // package.json denies the package's install script, so the image runs it itself.
    expect(text).toMatch(/node node_modules\/onnxruntime-node\/script\/install\.js/);
    expect(text).toMatch(/NVIDIA_DRIVER_CAPABILITIES=[\w,]*graphics/);
    expect(text).toMatch(/libvulkan1/);
  });
});
