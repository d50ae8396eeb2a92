'use strict';
// One rank of a data-parallel training (test/native/distributed.test.js): the Trainer's options as JSON in argv[2]; the
// rank and the rendezvous come from torchrun's variables in the environment. Prints the result as one JSON line.
const { Trainer } = require('../../dist');

async function main() {
  const { options, data, stopAtStep, dieAfterMs } = JSON.parse(process.argv[2]);
  if (dieAfterMs !== undefined) setTimeout(() => process.kill(process.pid, 'SIGKILL'), dieAfterMs);
  const trainer = new Trainer(options);
  const gradNorms = [];
  const logs = [];
  trainer.on('log', (line) => logs.push(line));
  trainer.on('progress', (p) => {
    gradNorms.push(p.gradNorm);
    if (p.step === stopAtStep) trainer.stop();
  });
  const result = await trainer.train(data);
  process.stdout.write(JSON.stringify({ stopped: result.stopped, steps: result.steps, gradNorms, logs }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
