import { join } from 'node:path';
import { Client, Metadata, credentials, type ServiceError } from '@grpc/grpc-js';
import { FeatureServerService } from '@pinrank/proto';
import { startServer } from './server';
import { defineService } from './service';
import { captureLogger } from './test-helpers';
it('dbg', async () => {
  const server = await startServer({ name: 'x', address: '127.0.0.1:0', services: [defineService(FeatureServerService, {})], signals: [], logger: captureLogger().logger, reflection: { protoRoot: join(__dirname, '..', '..', '..', 'proto') } });
  const raw = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
  for (const msgs of [[Buffer.from([0x3a, 0x00]), Buffer.from([0x3a, 0x00])], [Buffer.from([0x3a, 0x00])]]) {
  const refl = await new Promise<string>((resolve) => {
    const call = raw.makeBidiStreamRequest('/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo', (b: Buffer) => b, (b: Buffer) => b, new Metadata(), { deadline: new Date(Date.now() + 3000) });
    let n = 0;
    call.on('data', () => n++);
    call.on('error', (e: ServiceError) => resolve('error ' + e.code + e.details + ' after ' + n));
    call.on('status', (s: { code: number }) => resolve('status ' + s.code + ' after ' + n));
    for (const m of msgs) call.write(m);
    call.end();
  });
  console.log('refl', refl);
  }
  raw.close(); await server.shutdown();
});
