import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type Server } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';

/**
 * Where reflection gets the schema: the `.proto` sources, an encoded
 * google.protobuf.FileDescriptorSet (`buf build -o set.binpb`), or encoded FileDescriptorProtos.
 */
export type ReflectionSource =
  | {
      /** Root folder of the .proto files (imports resolve against it). */
      protoRoot: string;
      /** Files to load, relative to protoRoot; default every .proto under it. */
      files?: readonly string[];
    }
  | {
      /** An encoded google.protobuf.FileDescriptorSet, e.g. the output of `buf build -o set.binpb`. */
      fileDescriptorSet: Uint8Array;
    }
  | {
      /** Encoded google.protobuf.FileDescriptorProto messages. */
      fileDescriptorProtos: readonly Uint8Array[];
    };

function readVarint(buf: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const byte = buf[pos++];
    if (byte === undefined) break;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, pos];
  }
  throw new TypeError('reflection: malformed FileDescriptorSet (bad varint)');
}

/** Splits an encoded FileDescriptorSet (`repeated FileDescriptorProto file = 1`) into its files. */
export function splitFileDescriptorSet(set: Uint8Array): Uint8Array[] {
  const files: Uint8Array[] = [];
  let pos = 0;
  while (pos < set.length) {
    const [tag, afterTag] = readVarint(set, pos);
    if (tag !== 0x0a) throw new TypeError(`reflection: unexpected field tag ${tag} in a FileDescriptorSet`);
    const [len, start] = readVarint(set, afterTag);
    if (start + len > set.length) throw new TypeError('reflection: truncated FileDescriptorSet');
    files.push(set.subarray(start, start + len));
    pos = start + len;
  }
  return files;
}

function protoFiles(root: string, dir = root): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return protoFiles(root, p);
    return p.endsWith('.proto') ? [relative(root, p)] : [];
  });
}

function packageDefinition(source: ReflectionSource): PackageDefinition {
  if ('fileDescriptorProtos' in source || 'fileDescriptorSet' in source) {
    const files = 'fileDescriptorSet' in source ? splitFileDescriptorSet(source.fileDescriptorSet) : source.fileDescriptorProtos;
    // @grpc/reflection reads only `fileDescriptorProtos` from the definition's entries.
    return { descriptors: { fileDescriptorProtos: files.map((b) => Buffer.from(b)) } } as unknown as PackageDefinition;
  }
  const files = source.files ? [...source.files] : protoFiles(source.protoRoot);
  if (files.length === 0) throw new TypeError(`reflection: no .proto files under ${source.protoRoot}`);
  return loadSync(files, { includeDirs: [source.protoRoot], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
}

/**
 * Adds grpc.reflection.v1 and v1alpha to a server, listing only `services`
 * (the registered services plus health), so tools such as grpcurl can list
 * and call them without local .proto files.
 */
export function addReflection(server: Pick<Server, 'addService'>, source: ReflectionSource, services: readonly string[]): void {
  new ReflectionService(packageDefinition(source), { services: [...services] }).addToServer(server);
}
