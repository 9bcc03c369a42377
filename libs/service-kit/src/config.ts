import { existsSync } from 'node:fs';
import { parseHostPort } from './server-options';

/** One configuration value: the variable it comes from, what is allowed, and how to parse it. */
export interface ConfigVar<T> {
  /** Environment variable name (the flag is its kebab-case form: FEATURE_SERVER_ADDR → --feature-server-addr). */
  readonly variable: string;
  /** What values are allowed, for error messages and --help. */
  readonly allowed: string;
  /** Parses the raw value (undefined when unset); throws an Error whose message says what is wrong. */
  parse(raw: string | undefined): T;
}

/** Thrown by {@link readConfig}: lists every bad variable with its value and what is allowed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** One entry per bad variable. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

function make<T>(variable: string, allowed: string, fallback: T | undefined, convert: (raw: string) => T): ConfigVar<T> {
  if (!/^[A-Z][A-Z0-9_]*$/.test(variable)) throw new TypeError(`config: "${variable}" is not an UPPER_SNAKE variable name`);
  return {
    variable,
    allowed,
    parse(raw) {
      if (raw === undefined || raw.trim() === '') {
        if (fallback === undefined) throw new Error('is required');
        return fallback;
      }
      return convert(raw.trim());
    },
  };
}

/** Builders of typed configuration variables; a missing fallback makes the variable required. */
export const vars = {
  /** Any non-empty string. */
  string: (variable: string, fallback?: string): ConfigVar<string> =>
    make(variable, 'a non-empty string', fallback, (raw) => raw),
  /** An integer in [min, max]. */
  int: (variable: string, fallback?: number, range: { min?: number; max?: number } = {}): ConfigVar<number> => {
    const min = range.min ?? Number.MIN_SAFE_INTEGER;
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    return make(variable, `an integer in [${min}, ${max}]`, fallback, (raw) => {
      const n = Number(raw);
      if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) throw new Error(`expected an integer in [${min}, ${max}]`);
      return n;
    });
  },
  /** A finite number in [min, max]. */
  number: (variable: string, fallback?: number, range: { min?: number; max?: number } = {}): ConfigVar<number> => {
    const min = range.min ?? -Infinity;
    const max = range.max ?? Infinity;
    return make(variable, `a number in [${min}, ${max}]`, fallback, (raw) => {
      const n = Number(raw);
      if (!Number.isFinite(n) || n < min || n > max) throw new Error(`expected a number in [${min}, ${max}]`);
      return n;
    });
  },
  /** true/false (also 1/0, yes/no). */
  bool: (variable: string, fallback?: boolean): ConfigVar<boolean> =>
    make(variable, 'true or false', fallback, (raw) => {
      const v = raw.toLowerCase();
      if (['true', '1', 'yes'].includes(v)) return true;
      if (['false', '0', 'no'].includes(v)) return false;
      throw new Error('expected true or false');
    }),
  /** One of a fixed set of strings. */
  oneOf: <const V extends string>(variable: string, values: readonly V[], fallback?: V): ConfigVar<V> =>
    make(variable, `one of ${values.join(', ')}`, fallback, (raw) => {
      if (!values.includes(raw as V)) throw new Error(`expected one of ${values.join(', ')}`);
      return raw as V;
    }),
  /** host:port (port 0..65535). */
  hostPort: (variable: string, fallback?: string): ConfigVar<string> =>
    make(variable, 'host:port, e.g. 0.0.0.0:50051', fallback, (raw) => {
      try {
        parseHostPort(raw);
      } catch {
        throw new Error('expected host:port, e.g. 0.0.0.0:50051 (port 0..65535)');
      }
      return raw;
    }),
  /** Comma-separated list of non-empty strings. */
  list: (variable: string, fallback?: readonly string[]): ConfigVar<string[]> =>
    make(variable, 'a comma-separated list', fallback ? [...fallback] : undefined, (raw) =>
      raw.split(',').map((s) => s.trim()).filter((s) => s !== ''),
    ),
  /** Path of a file that must exist. */
  file: (variable: string, fallback?: string): ConfigVar<string> =>
    make(variable, 'the path of an existing file', fallback, (raw) => {
      if (!existsSync(raw)) throw new Error('no such file');
      return raw;
    }),
  /** Makes a variable optional: unset gives undefined instead of an error. */
  optional: <T>(inner: ConfigVar<T>): ConfigVar<T | undefined> => ({
    variable: inner.variable,
    allowed: `${inner.allowed} (optional)`,
    parse: (raw) => (raw === undefined || raw.trim() === '' ? undefined : inner.parse(raw)),
  }),
};

/** The typed result of a spec: each key gets its variable's parsed type. */
export type ConfigOf<S extends Record<string, ConfigVar<unknown>>> = { [K in keyof S]: S[K] extends ConfigVar<infer T> ? T : never };

/** Turns FEATURE_SERVER_ADDR into feature-server-addr. */
export function flagName(variable: string): string {
  return variable.toLowerCase().replace(/_/g, '-');
}

function flagValues(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(argv[i] ?? '');
    if (!m?.[1]) continue;
    const next = argv[i + 1];
    if (m[2] !== undefined) out.set(m[1], m[2]);
    else if (next !== undefined && !next.startsWith('--')) out.set(m[1], argv[++i] ?? '');
    else out.set(m[1], 'true');
  }
  return out;
}

/**
 * Reads a typed configuration from an env-like record and optional command
 * line flags (a flag wins over its variable). Every bad value is reported at
 * once in a ConfigError naming the variable, the value and what is allowed.
 */
export function readConfig<S extends Record<string, ConfigVar<unknown>>>(
  spec: S,
  env: Readonly<Record<string, string | undefined>>,
  argv: readonly string[] = [],
): ConfigOf<S> {
  const flags = flagValues(argv);
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, v] of Object.entries(spec)) {
    const fromFlag = flags.get(flagName(v.variable));
    const raw = fromFlag ?? env[v.variable];
    try {
      out[key] = v.parse(raw);
    } catch (err) {
      const source = fromFlag !== undefined ? `--${flagName(v.variable)}` : v.variable;
      const shown = raw === undefined ? '(unset)' : JSON.stringify(raw);
      problems.push(`${source}=${shown}: ${(err as Error).message}; allowed: ${v.allowed}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as ConfigOf<S>;
}
