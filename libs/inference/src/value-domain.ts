import { onnx } from 'onnx-proto';
import { type ModelConfig, type ValueDomain } from '@pinrank/contracts';

/**
 * An integer input that a Gather node uses to index a table stored in the
 * model (an embedding lookup): any value outside the table fails the whole
 * batch inside ONNX Runtime, so it must be refused before batching.
 */
export interface GatherTable {
  /** The model input holding the indices. */
  input: string;
  /** The initializer it indexes. */
  table: string;
  /** Rows of the table along the gathered axis. */
  rows: number;
}

// Nodes that pass indices through unchanged in value (so a Gather behind them still indexes by the input's values).
const VALUE_PRESERVING = new Set(['Identity', 'Cast', 'Reshape', 'Squeeze', 'Unsqueeze', 'Flatten']);

/** The tables a model's Gather nodes index directly with one of its inputs (through value-preserving nodes). */
export function gatherTables(model: Uint8Array): GatherTable[] {
  const graph = onnx.ModelProto.decode(model).graph;
  if (!graph) return [];
  const inputs = new Set((graph.input ?? []).map((i) => i.name ?? ''));
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', (t.dims ?? []).map(Number)]));
  for (const i of graph.input ?? []) initializers.delete(i.name ?? ''); // an initializer overridable by an input is not fixed
  const producer = new Map<string, onnx.INodeProto>();
  for (const node of graph.node ?? []) for (const out of node.output ?? []) producer.set(out, node);
  const sourceInput = (name: string, depth = 0): string | undefined => {
    if (inputs.has(name)) return name;
    const node = producer.get(name);
    if (!node || depth > 8 || !VALUE_PRESERVING.has(node.opType ?? '')) return undefined;
    return sourceInput(node.input?.[0] ?? '', depth + 1);
  };
  const tables: GatherTable[] = [];
  for (const node of graph.node ?? []) {
    if (node.opType !== 'Gather') continue;
    const [data = '', indices = ''] = node.input ?? [];
    const dims = initializers.get(data);
    const input = sourceInput(indices);
    if (!dims || !input) continue;
    const attr = (node.attribute ?? []).find((a) => a.name === 'axis');
    const axis = Number(attr?.i ?? 0);
    const rows = dims[axis < 0 ? dims.length + axis : axis];
    if (rows !== undefined) tables.push({ input, table: data, rows });
  }
  return tables;
}

/** The value domain one input gets: the config's, or (when it declares none) what the graph's tables accept. */
export interface EffectiveDomain extends ValueDomain {
  /** Where the bounds come from, for messages. */
  source: 'config' | 'model';
}

/**
 * Compares the config's declared value domains with the model's tables and
 * returns the domain to enforce per input, or the problems that must stop the
 * version from loading (a declared range reaching outside a table).
 */
export function resolveValueDomains(config: ModelConfig, tables: readonly GatherTable[]): { domains: Map<string, EffectiveDomain>; problems: string[] } {
  const domains = new Map<string, EffectiveDomain>();
  const problems: string[] = [];
  for (const spec of config.inputs) if (spec.values) domains.set(spec.name, { ...spec.values, source: 'config' });
  for (const t of tables) {
    const declared = domains.get(t.input);
    if (!declared || declared.source === 'model') {
      // ONNX Gather also accepts negative indices from the end: [-rows, rows - 1].
      const lo = Math.max(declared?.min ?? -Infinity, -t.rows);
      const hi = Math.min(declared?.max ?? Infinity, t.rows - 1);
      domains.set(t.input, { min: lo, max: hi, source: 'model' });
      continue;
    }
    if (declared.indexOf !== undefined) continue;
    if (declared.max === undefined || declared.max > t.rows - 1) {
      problems.push(
        `input "${t.input}" may hold values up to ${declared.max ?? 'any size'} (config values.max) but the model looks them up in "${t.table}", which has ${t.rows} rows (0..${t.rows - 1})`,
      );
    }
    if (declared.min === undefined || declared.min < -t.rows) {
      problems.push(`input "${t.input}" may hold values down to ${declared.min ?? 'any size'} (config values.min) but the model's table "${t.table}" accepts ${-t.rows}..${t.rows - 1}`);
    }
  }
  return { domains, problems };
}
