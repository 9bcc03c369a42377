import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

// How many CPUs this process may use, for sizing ONNX Runtime's intra-op
// thread pool. Left to itself ONNX Runtime takes one thread per physical
// core of the host, which in a container limited to 2 CPUs of a 64-core node
// is 32 threads time-sliced onto 2: each batch's parallel sections then wait
// on threads that are not running. The served encoder already loses from a
// second thread on small batches (docs/benchmarks.md, transact_encoder), so
// oversubscribing costs more. A CPU limit shows up as the process's cgroup
// CPU quota; a Kubernetes CPU request without a limit sets no quota, which is
// why the manifests pass the request explicitly (RANKER_INTRA_OP_THREADS).

/** Reads a small text file, or undefined when it cannot. */
export type ReadText = (path: string) => string | undefined;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** CPUs a quota of `quotaUs` per `periodUs` allows, rounded up; undefined for no quota or nonsense. */
function cpusOfQuota(quotaUs: number, periodUs: number): number | undefined {
  if (!Number.isFinite(quotaUs) || !Number.isFinite(periodUs) || quotaUs <= 0 || periodUs <= 0) return undefined;
  return Math.max(1, Math.ceil(quotaUs / periodUs));
}

/** The cgroup v2 `cpu.max` value ("max 100000" or "200000 100000") as CPUs; undefined when unlimited or unreadable. */
export function parseCpuMax(text: string | undefined): number | undefined {
  const m = /^\s*(max|\d+)\s+(\d+)\s*$/.exec(text ?? '');
  if (!m || m[1] === 'max') return undefined;
  return cpusOfQuota(Number(m[1]), Number(m[2]));
}

/**
 * The CPU limit of this process's cgroup (v2 `cpu.max`, else v1
 * `cpu.cfs_quota_us` / `cpu.cfs_period_us`), in whole CPUs rounded up;
 * undefined when there is none or it cannot be read. Looks under the
 * process's own cgroup path (/proc/self/cgroup) and at the mount's root
 * (where a container sees its own cgroup).
 */
export function cgroupCpuLimit(read: ReadText = readText): number | undefined {
  const lines = (read('/proc/self/cgroup') ?? '').split('\n');
  const v2Path = lines.find((l) => l.startsWith('0::'))?.slice(3).trim();
  for (const dir of [...(v2Path && v2Path !== '/' ? [`/sys/fs/cgroup${v2Path}`] : []), '/sys/fs/cgroup']) {
    const cpus = parseCpuMax(read(`${dir}/cpu.max`));
    if (cpus !== undefined) return cpus;
  }
  const v1Path = lines.map((l) => l.split(':')).find((p) => p.length >= 3 && (p[1] ?? '').split(',').includes('cpu'))?.slice(2).join(':').trim();
  for (const mount of ['/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/cpu']) {
    for (const dir of [...(v1Path && v1Path !== '/' ? [`${mount}${v1Path}`] : []), mount]) {
      const quota = read(`${dir}/cpu.cfs_quota_us`);
      if (quota === undefined) continue;
      const cpus = cpusOfQuota(Number(quota.trim()), Number((read(`${dir}/cpu.cfs_period_us`) ?? '').trim()));
      if (cpus !== undefined) return cpus;
    }
  }
  return undefined;
}

/** What sized an intra-op thread pool: the setting, the cgroup's CPU limit, or ONNX Runtime's own default (0). */
export interface IntraOpThreads {
  threads: number;
  source: 'configured' | 'cgroup cpu limit' | 'onnxruntime default';
}

/** The CPUs a process may use: its cgroup CPU limit (undefined for none) and the cores it may run on. */
export interface CpuBudget {
  limit: number | undefined;
  cores: number;
}

/** This process's {@link CpuBudget}, read now. */
export const currentCpuBudget = (): CpuBudget => ({ limit: cgroupCpuLimit(), cores: availableParallelism() });

/**
 * The intra-op thread count to give ONNX Runtime for a `requested` count:
 * itself when > 0; for 0, the cgroup's CPU limit when it is below the CPUs
 * the process may run on, else 0 (ONNX Runtime's default: one per physical
 * core). `budget` is read only for 0.
 */
export function resolveIntraOpThreads(requested: number, budget: () => CpuBudget = currentCpuBudget): IntraOpThreads {
  if (requested > 0) return { threads: requested, source: 'configured' };
  const { limit, cores } = budget();
  if (limit !== undefined && limit < cores) return { threads: limit, source: 'cgroup cpu limit' };
  return { threads: 0, source: 'onnxruntime default' };
}
