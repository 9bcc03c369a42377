const preset = require('../../jest.preset.cjs');

module.exports = { ...preset, displayName: 'train', rootDir: __dirname };
