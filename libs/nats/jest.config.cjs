const preset = require('../../jest.preset.cjs');

module.exports = { ...preset, displayName: 'nats', rootDir: __dirname };
