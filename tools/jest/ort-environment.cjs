// jest runs each test file in its own VM realm; onnxruntime-node's native
// binding returns typed arrays made in the host realm, and onnxruntime-common
// checks tensors with `instanceof`, which then fails ("A float32 tensor's data
// must be type of function Float32Array()"). Giving the sandbox the host
// realm's typed-array constructors and ArrayBuffer makes both sides agree.
const { TestEnvironment } = require('jest-environment-node');

const shared = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

class OrtEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of shared) this.global[name] = globalThis[name];
  }
}

module.exports = OrtEnvironment;
