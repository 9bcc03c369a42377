const preset = require('../../jest.preset.cjs');

module.exports = { ...preset, displayName: 'ranker', rootDir: __dirname };
