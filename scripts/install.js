'use strict';
// npm install hook: use a prebuilt or already-built addon when it loads; otherwise build from source.
const path = require('path');

const root = path.resolve(__dirname, '..');
try {
  require('node-gyp-build')(root);
  process.exit(0);
} catch (_) {
  // fall through to a source build
}
try {
  require('./build-native').build();
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
