'use strict';
// Child process of test/native/event-loop.test.js: one cold measurement (nothing loaded in this process yet) of how long the
// event loop is blocked while a model loads or a short training runs. Prints one JSON line.
const lib = require('../../dist');
const { measureEventLoop } = require('./lag');

(async () => {
  const spec = JSON.parse(process.argv[process.argv.length - 1]);
  const device = { device: 'cpu', dtype: 'float32' };
  let work;
  if (spec.what === 'model') {
    work = async () => (await lib.Qwen3Model.load(spec.dir, device)).dispose();
  } else if (spec.what === 'predictor') {
    work = async () => {
      const predictor = new lib.Predictor({ checkpoint: spec.run, ...device });
      await predictor.load();
      await predictor.predict(['今天天气真好', '太失望了']);
      predictor.dispose();
    };
  } else {
    work = () => new lib.Trainer({ ...spec.options, ...device }).train(spec.data);
  }
  const { result, ...lag } = await measureEventLoop(work);
  process.stdout.write(`${JSON.stringify(lag)}\n`);
})().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
