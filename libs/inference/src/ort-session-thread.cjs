// The worker-thread side of a threaded ONNX Runtime session (ort-session-thread.ts).
// Plain CommonJS on purpose: a worker thread loads this file with Node alone,
// whatever transpiler (tsx, jest's) runs the main thread.
//
// Messages in:  { op: 'create', model: Uint8Array, options }  → { ok, inputMetadata, outputMetadata } | { ok: false, error }
//               { op: 'run', id, inputs: { name: { type, dims, data } }, outputNames? } → { id, ok, outputs } | { id, ok: false, error }
//               { op: 'release' } → { op: 'released' }
// Tensor data crosses as transferred ArrayBuffers (moved, not copied).
'use strict';
const { parentPort } = require('node:worker_threads');
const ort = require('onnxruntime-node');

let session;

const describe = (m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: m.shape } : { name: m.name, isTensor: false });
const errorText = (err) => (err instanceof Error ? err.message : String(err));

parentPort.on('message', async (msg) => {
  if (msg.op === 'create') {
    try {
      session = await ort.InferenceSession.create(msg.model, msg.options);
      parentPort.postMessage({ ok: true, inputMetadata: session.inputMetadata.map(describe), outputMetadata: session.outputMetadata.map(describe) });
    } catch (err) {
      parentPort.postMessage({ ok: false, error: errorText(err) });
    }
    return;
  }
  if (msg.op === 'run') {
    try {
      const feeds = {};
      for (const [name, t] of Object.entries(msg.inputs)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const results = msg.outputNames ? await session.run(feeds, msg.outputNames) : await session.run(feeds);
      const outputs = {};
      const transfer = [];
      for (const [name, t] of Object.entries(results)) {
        outputs[name] = { type: t.type, dims: t.dims, data: t.data };
        if (t.data && t.data.buffer instanceof ArrayBuffer && !transfer.includes(t.data.buffer)) transfer.push(t.data.buffer);
      }
      parentPort.postMessage({ id: msg.id, ok: true, outputs }, transfer);
    } catch (err) {
      parentPort.postMessage({ id: msg.id, ok: false, error: errorText(err) });
    }
    return;
  }
  if (msg.op === 'release') {
    try {
      if (session) await session.release();
    } finally {
      session = undefined;
      parentPort.postMessage({ op: 'released' });
    }
  }
});
