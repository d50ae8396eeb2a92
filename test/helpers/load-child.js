'use strict';
// Child process of test/qwen3/folder-faults.test.js (through helpers/child-cases.js): opens each damaged model folder
// the way a user would and reports the outcome. Run in a child so that a native crash or a read that never returns is
// seen as such by the parent.
const { Qwen3Model, Predictor } = require('../../dist');
const { loadNative } = require('../../dist/native');

async function attempt(target) {
  switch (target.via) {
    case 'model': {
      const model = await Qwen3Model.load(target.dir, { device: 'cpu', dtype: 'float32' });
      model.dispose();
      return;
    }
    case 'predictor': {
      const predictor = new Predictor({ checkpoint: target.run, model: target.dir, device: 'cpu', dtype: 'float32' });
      try {
        await predictor.predict('今天天气真好');
      } finally {
        predictor.dispose();
      }
      return;
    }
    case 'native': {
      // The core's own checks, with what lib/ would have refused sent anyway.
      const engine = new (loadNative().Engine)();
      try {
        await engine.load({ ...target.request, device: 'cpu', dtype: 'float32', mapEmbeddings: 'never' });
      } finally {
        engine.dispose();
      }
      return;
    }
    default:
      throw new Error(`unknown target ${target.via}`);
  }
}

(async () => {
  const { cases, targets } = JSON.parse(process.argv[process.argv.length - 1]);
  for (const name of cases) {
    process.stdout.write(`START ${name}\n`);
    let outcome;
    try {
      await attempt(targets[name]);
      outcome = { ok: true };
    } catch (error) {
      outcome = {
        ok: false,
        isError: error instanceof Error,
        name: error?.constructor?.name,
        message: error instanceof Error ? error.message : String(error),
      };
    }
    process.stdout.write(`RESULT ${JSON.stringify(outcome)}\n`);
  }
})();
