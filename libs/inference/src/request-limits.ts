import { PinrankError } from '@pinrank/service-kit';
import { type ModelConfig } from '@pinrank/contracts';
import { type SessionSignature } from './contract-check';
import { type TensorMap } from './host-tensor';
import { resolveValueDomains, type EffectiveDomain, type GatherTable } from './value-domain';

/** What {@link RequestLimits.fromModel} derives the limits from. */
export interface RequestLimitsSource {
  config: ModelConfig;
  /** The loaded session's inputs: their symbolic axis names tie inputs together. */
  signature: SessionSignature;
  /** Tables the graph indexes with its inputs (see `gatherTables`). */
  tables: readonly GatherTable[];
  /** The batch size this worker really uses (the config's, possibly capped). */
  maxBatchSize: number;
}

interface AxisRef {
  input: string;
  axis: number;
  /** The axis's symbolic name in the model, when it has one. */
  name: string | undefined;
}

const invalid = (message: string): PinrankError => new PinrankError('INVALID_ARGUMENT', message);

/**
 * Per-request bounds of one loaded model version, derived from its config
 * and its graph: every axis at least 1, inputs that share a symbolic axis
 * agreeing on it, axis 0 at most the batch size, named axes within
 * `limits.axes`, the work (`limits.work`) within its bound, and integer
 * values inside their domains. Checked before a request joins a batch, so a
 * bad request fails alone and costs nothing.
 */
export class RequestLimits {
  private constructor(
    private readonly label: string,
    private readonly axes: ReadonlyMap<string, AxisRef[]>,
    private readonly axisMax: ReadonlyMap<string, number>,
    private readonly rowsMax: number,
    private readonly workAxes: readonly string[],
    /** Most work one request, and one batch, may carry (Infinity without `limits.work`). */
    readonly maxWork: number,
    private readonly domains: ReadonlyMap<string, EffectiveDomain>,
  ) {}

  /**
   * Derives the limits at load. Thrown by: a config that does not fit the
   * model — limits naming axes the model does not have, or value domains
   * reaching outside the tables the model indexes — as an Error listing each problem.
   */
  static fromModel(src: RequestLimitsSource): RequestLimits {
    const { config, signature } = src;
    const label = `${config.name}:${config.version}`;
    const problems: string[] = [];
    const axes = new Map<string, AxisRef[]>();
    const byInput = new Map(signature.inputs.map((i) => [i.name, i]));
    for (const spec of config.inputs) {
      const shape = byInput.get(spec.name)?.shape ?? [];
      spec.shape.forEach((_, axis) => {
        const dim = shape[axis];
        const name = typeof dim === 'string' && dim !== '' ? dim : undefined;
        const key = name ?? `${spec.name}#${axis}`;
        axes.set(key, [...(axes.get(key) ?? []), { input: spec.name, axis, name }]);
      });
    }
    const named = [...axes.keys()].filter((k) => !k.includes('#'));
    const limits = config.limits ?? { axes: {} };
    for (const name of [...Object.keys(limits.axes), ...(limits.work?.axes ?? [])]) {
      if (!axes.has(name)) problems.push(`limits name axis "${name}", which no input of the model has (its named axes: ${named.join(', ') || 'none'})`);
    }
    const { domains, problems: domainProblems } = resolveValueDomains(config, src.tables);
    problems.push(...domainProblems);
    if (problems.length > 0) throw new Error(`request limits do not fit the model: ${problems.join('; ')}`);
    // A worker that caps the batch size scales the work bound with it: the bound describes a full batch.
    const scale = Math.min(1, src.maxBatchSize / config.batching.maxBatchSize);
    const maxWork = limits.work ? Math.max(1, Math.floor(limits.work.max * scale)) : Infinity;
    return new RequestLimits(label, axes, new Map(Object.entries(limits.axes)), src.maxBatchSize, limits.work?.axes ?? [], maxWork, domains);
  }

  /**
   * Checks one request (inputs that already match the config's names, types
   * and ranks) and returns its work. Thrown by: any bound broken — as
   * INVALID_ARGUMENT naming the input, the axis or the value, and the bound.
   */
  check(inputs: TensorMap): number {
    const lengths = new Map<string, number>();
    for (const [key, refs] of this.axes) {
      let first: { ref: AxisRef; len: number } | undefined;
      for (const ref of refs) {
        const t = inputs[ref.input];
        if (!t) continue;
        const len = t.dims[ref.axis] ?? 0;
        if (len < 1) throw invalid(`model ${this.label}: input "${ref.input}" has an empty axis ${ref.axis} ([${t.dims.join(',')}]); every axis needs at least one element`);
        if (first && len !== first.len) {
          throw invalid(
            `model ${this.label}: inputs "${first.ref.input}" and "${ref.input}" must agree on axis ${ref.name ?? key}: ${first.len} vs ${len}`,
          );
        }
        first ??= { ref, len };
        const max = ref.axis === 0 ? Math.min(this.rowsMax, this.axisMax.get(key) ?? Infinity) : (this.axisMax.get(key) ?? Infinity);
        if (len > max) {
          const what = ref.axis === 0 && max === this.rowsMax ? 'rows (the batch size)' : `along axis ${ref.name ?? ref.axis}`;
          throw invalid(`model ${this.label}: input "${ref.input}" has ${len} ${ref.axis === 0 ? 'rows' : 'elements'} on axis ${ref.name ?? ref.axis}; at most ${max} ${what} per request`);
        }
      }
      if (first) lengths.set(key, first.len);
    }
    const work = this.workFrom((a) => lengths.get(a) ?? 1);
    if (work > this.maxWork) {
      const formula = this.workAxes.map((a) => `${a}=${lengths.get(a)}`).join(' × ');
      throw invalid(`model ${this.label}: request too large: ${this.workAxes.join('×')} = ${formula} = ${work}; at most ${this.maxWork} per request (send fewer rows or shorter sequences)`);
    }
    for (const [name, domain] of this.domains) {
      const t = inputs[name];
      if (t) this.checkValues(name, t, domain, inputs);
    }
    return work;
  }

  /** The work of a request whose inputs already passed {@link check} (what the batcher adds up per batch). */
  workOf(inputs: TensorMap): number {
    return this.workFrom((a) => this.axisLength(inputs, a));
  }

  private workFrom(length: (axis: string) => number): number {
    return this.workAxes.reduce((w, a) => w * length(a), this.workAxes.length === 0 ? 0 : 1);
  }

  private axisLength(inputs: TensorMap, key: string): number {
    for (const ref of this.axes.get(key) ?? []) {
      const d = inputs[ref.input]?.dims[ref.axis];
      if (d !== undefined) return d;
    }
    return 1;
  }

  private checkValues(name: string, t: TensorMap[string], domain: EffectiveDomain, inputs: TensorMap): void {
    const min = domain.min ?? -Infinity;
    let max = domain.max ?? Infinity;
    if (domain.indexOf !== undefined) max = Math.min(max, (inputs[domain.indexOf]?.dims[0] ?? 0) - 1);
    const data = t.data;
    const lo = Number.isFinite(min) ? min : Number.MIN_SAFE_INTEGER;
    const hi = Number.isFinite(max) ? max : Number.MAX_SAFE_INTEGER;
    let bad = -1;
    if (data instanceof BigInt64Array) {
      const blo = BigInt(lo);
      const bhi = BigInt(hi);
      for (let k = 0; k < data.length; k++) {
        const v = data[k]!;
        if (v < blo || v > bhi) {
          bad = k;
          break;
        }
      }
    } else {
      for (let k = 0; k < data.length; k++) {
        const v = data[k] as number;
        if (v < lo || v > hi) {
          bad = k;
          break;
        }
      }
    }
    if (bad < 0) return;
    const allowed = domain.indexOf !== undefined ? `a row of "${domain.indexOf}" (0..${max})` : `${min}..${max}`;
    const from = domain.source === 'model' ? ' (the rows of a table in the model)' : '';
    throw invalid(`model ${this.label}: input "${name}" holds ${String(data[bad])} at flat index ${bad}; allowed values are ${allowed}${from}`);
  }
}
