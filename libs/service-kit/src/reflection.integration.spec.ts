import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FeatureServerService } from '@pinrank/proto';
import { splitFileDescriptorSet } from './reflection';
import { startServer } from './server';
import { defineService } from './service';
import { captureLogger, reflectServices, reflectSymbolFiles } from './test-helpers';

const root = join(__dirname, '../../..');

describe('reflection from a FileDescriptorSet', () => {
  let set: Uint8Array;
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'service-kit-fds-'));
    try {
      execFileSync(join(root, 'node_modules/.bin/buf'), ['build', 'proto', '-o', join(dir, 'set.binpb')], { cwd: root, stdio: 'pipe' });
      set = readFileSync(join(dir, 'set.binpb'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('splits the set into one FileDescriptorProto per .proto file', () => {
    const files = splitFileDescriptorSet(set);
    const names = files.map((f) => /[\w/]+\.proto/.exec(Buffer.from(f.subarray(0, 80)).toString('latin1'))?.[0]);
    expect(names).toEqual(expect.arrayContaining(['pinrank/v1/feature_server.proto', 'grpc/health/v1/health.proto']));
    expect(() => splitFileDescriptorSet(Uint8Array.from([0x12, 0x01, 0x00]))).toThrow(/unexpected field tag/);
    expect(() => splitFileDescriptorSet(Uint8Array.from([0x0a, 0x05, 0x00]))).toThrow(/truncated/);
  });

  it('serves the registered services over grpc.reflection', async () => {
    const server = await startServer({
      name: 'reflection-test',
      address: '127.0.0.1:0',
      signals: [],
      logger: captureLogger().logger,
      services: [defineService(FeatureServerService, {})],
      reflection: { fileDescriptorSet: set },
    });
    try {
      expect(await reflectServices(`127.0.0.1:${server.port}`)).toEqual(['grpc.health.v1.Health', 'pinrank.v1.FeatureServer']);
      // Describing a method returns its file and the files it imports (what grpcurl needs to build requests).
      const files = await reflectSymbolFiles(`127.0.0.1:${server.port}`, 'pinrank.v1.FeatureServer.GetRealtimeSequence');
      const text = files.map((f) => f.toString('latin1')).join('\n');
      expect(text).toContain('pinrank/v1/feature_server.proto');
      expect(text).toContain('pinrank/v1/common.proto');
    } finally {
      await server.shutdown();
    }
  });
});
