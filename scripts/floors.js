'use strict';
// The floors of lib/, top floor first: a wing imports only from the floors below its own. One list, read by
// .dependency-cruiser.js (which turns it into import rules) and by scripts/check-architecture.js (which holds
// docs/architecture.md's picture to it). A path ending in / is a folder, any other a single file.
module.exports = [
  ['lib/cli/'], // the qwen3-native command
  ['lib/serve/', 'lib/compare/'], // services: HTTP serving, method comparison and reports
  ['lib/predict/', 'lib/train/'], // Predictor (and ensembles); Trainer, its loop, data, data parallelism
  ['lib/runs/'], // the run-folder format: reading, writing, staging, lookup, history
  ['lib/classifier/'], // what training and prediction share: methods, labels, encoding, data files, metrics
  ['lib/hub/'], // finding and downloading base models
  ['lib/qwen3/'], // a Hugging Face Qwen3 folder: config, weights, tokenizer, Qwen3Model, the runtime
  ['lib/native.ts'], // the one typed contract with the addon
  ['lib/native-loader.ts'], // which addon file, loaded safely
  ['lib/util/'], // validation, files, progress, random
];
