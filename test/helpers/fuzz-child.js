'use strict';
// Child process of test/qwen3/safetensors-fuzz.test.js: for each case, writes the damaged file and opens it with both
// readers - lib's header reader (TypeScript) and the core's loader (Engine.load: the C++ header parser, the config
// check and the weights) - and reports what each said. A crash or hang here is what the parent is looking for.
const fs = require('fs');
const path = require('path');
const { loadNative } = require('../../dist/native');
const { readSafetensorsHeader } = require('../../dist/qwen3/safetensors');
const { mutant } = require('./safetensors-mutants');
const { tmpDir } = require('./util');

function outcome(error) {
  if (error === undefined) return { ok: true };
  return {
    ok: false,
    isError: error instanceof Error,
    message: error instanceof Error ? error.message : String(error),
  };
}

(async () => {
  const { cases, seed, valid, config } = JSON.parse(process.argv[process.argv.length - 1]);
  const validBytes = fs.readFileSync(valid);
  const dir = tmpDir('q3n-fuzz-');
  const file = path.join(dir, 'model.safetensors');
  const Engine = loadNative().Engine;
  try {
    for (const index of cases) {
      process.stdout.write(`START ${index}\n`);
      const { kind, bytes } = mutant(seed, index, validBytes);
      fs.writeFileSync(file, bytes);
      let ts;
      let native;
      try {
        const header = await readSafetensorsHeader(file);
        ts = { ok: true, tensors: header.keys.length };
      } catch (error) {
        ts = outcome(error);
      }
      const engine = new Engine();
      try {
        await engine.load({ files: [file], config, device: 'cpu', dtype: 'float32', mapEmbeddings: 'never' });
        native = outcome();
      } catch (error) {
        native = outcome(error);
      } finally {
        engine.dispose();
      }
      process.stdout.write(`RESULT ${JSON.stringify({ index, kind, file, ts, native })}\n`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
})();
