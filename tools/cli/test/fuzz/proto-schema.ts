// The message schemas of every RPC, read from proto/ (the same sources the
// generated code comes from), so the fuzzer knows each request's fields
// without a line per message.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadSync } from '@grpc/proto-loader';

/** One field of a message descriptor (google.protobuf.FieldDescriptorProto as proto-loader gives it). */
export interface FieldInfo {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}

/** A message type: its full name and fields, and where nested type names resolve. */
export interface MessageInfo {
  fullName: string;
  fields: FieldInfo[];
  /** Values of each enum field's type, by field name (for valid-looking enums). */
  enumValues: Map<string, number[]>;
}

interface DescriptorLike {
  name: string;
  field?: FieldInfo[];
  nestedType?: DescriptorLike[];
  enumType?: Array<{ name: string; value: Array<{ number: number }> }>;
}

function protoFiles(root: string, dir = root): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return protoFiles(root, p);
    return p.endsWith('.proto') ? [relative(root, p)] : [];
  });
}

/** Every message of proto/ by full name, and every RPC's request type by method path. */
export class ProtoSchema {
  private readonly messages = new Map<string, MessageInfo>();
  private readonly enums = new Map<string, number[]>();
  private readonly requestTypes = new Map<string, string>();

  constructor(protoRoot: string) {
    const def = loadSync(protoFiles(protoRoot), { includeDirs: [protoRoot] }) as unknown as Record<string, Record<string, unknown>>;
    const descriptors = new Map<string, DescriptorLike>();
    for (const [name, entry] of Object.entries(def)) {
      if (entry['format'] === 'Protocol Buffer 3 DescriptorProto') this.collect(name, entry['type'] as DescriptorLike, descriptors);
      if (entry['format'] === 'Protocol Buffer 3 EnumDescriptorProto') {
        this.enums.set(name, ((entry['type'] as { value: Array<{ number: number }> }).value ?? []).map((v) => v.number));
      }
    }
    for (const [fullName, d] of descriptors) {
      const enumValues = new Map<string, number[]>();
      const fields = (d.field ?? []).map((f) => {
        if (f.type !== 'TYPE_MESSAGE' && f.type !== 'TYPE_ENUM') return f;
        const resolved = this.resolve(fullName, f.typeName, f.type === 'TYPE_MESSAGE' ? descriptors : this.enums);
        if (f.type === 'TYPE_ENUM') enumValues.set(f.name, this.enums.get(resolved) ?? [0]);
        return { ...f, typeName: resolved };
      });
      this.messages.set(fullName, { fullName, fields, enumValues });
    }
    for (const entry of Object.values(def)) {
      if (entry['format'] !== undefined) continue;
      for (const method of Object.values(entry) as Array<{ path?: string; requestType?: { type?: { name: string } } }>) {
        const requestName = method.requestType?.type?.name;
        if (method.path && requestName) {
          const service = method.path.replace(/^\//, '').split('/')[0] ?? '';
          this.requestTypes.set(method.path, this.resolve(service, requestName, descriptors));
        }
      }
    }
  }

  /** The request message of a method path, e.g. `/pinrank.v1.Ranker/Rank`. Thrown by: a path proto/ does not define. */
  requestType(path: string): MessageInfo {
    const name = this.requestTypes.get(path);
    const info = name ? this.messages.get(name) : undefined;
    if (!info) throw new Error(`proto/ defines no method ${path}`);
    return info;
  }

  /** A message by full name. */
  message(fullName: string): MessageInfo {
    const info = this.messages.get(fullName);
    if (!info) throw new Error(`proto/ defines no message ${fullName}`);
    return info;
  }

  private collect(fullName: string, d: DescriptorLike, into: Map<string, DescriptorLike>): void {
    into.set(fullName, d);
    for (const nested of d.nestedType ?? []) this.collect(`${fullName}.${nested.name}`, nested, into);
    for (const e of d.enumType ?? []) this.enums.set(`${fullName}.${e.name}`, e.value.map((v) => v.number));
  }

  // proto-loader gives type names relative to the scope of use: try the innermost scope first.
  private resolve(scope: string, name: string, known: Map<string, unknown>): string {
    const bare = name.replace(/^\./, '');
    const parts = scope.split('.');
    for (let n = parts.length; n >= 0; n--) {
      const candidate = [...parts.slice(0, n), bare].filter(Boolean).join('.');
      if (known.has(candidate)) return candidate;
    }
    return bare;
  }
}
