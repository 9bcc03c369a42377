const preset = require('../../jest.preset.cjs');

module.exports = { ...preset, displayName: 'embedding-store', rootDir: __dirname };
