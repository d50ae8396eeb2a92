// Case: the cost of an explanation (Predictor.explain: integrated gradients, 32 steps by default) for each method,
// against one prediction of the same posts on the same run.
'use strict';
const L = require('./lib');

const METHODS = ['lora', 'lora-head', 'full', 'embedding'];

async function run(ctx) {
  const st = ctx.settings;
  const { Predictor, EXPLAIN_DEFAULTS } = L.dist('index');
  const steps = EXPLAIN_DEFAULTS.steps;
  const texts = L.samplePosts(st.explainPosts, 17).map((p) => p.text);
  const rows = [];
  const summary = {};
  for (const shape of ctx.shapes) {
    for (const method of METHODS) {
      try {
        const runDir = await L.ensureRun(shape, ctx, method);
        const p = new Predictor({
          checkpoint: runDir,
          device: ctx.device,
          dtype: method === 'full' ? 'float32' : 'bfloat16',
        });
        try {
          await p.load();
          await p.explain(texts[0], { steps: 2 }); // warm-up
          const predict = [];
          const explain = [];
          let tokens = 0;
          let worst = 0;
          for (const text of texts) {
            predict.push((await L.timed(() => p.predict(text))).seconds);
            const { value: e, seconds } = await L.timed(() => p.explain(text));
            explain.push(seconds);
            tokens += (await p.encode(text)).length;
            worst = Math.max(worst, e.tokens.length);
          }
          const ms = L.median(explain) * 1000;
          summary[`${shape}/${method}`] = { explainMs: ms, predictMs: L.median(predict) * 1000 };
          L.log(`explain ${shape} ${method}: ${ms.toFixed(0)} ms per post (median of ${texts.length})`);
          rows.push([
            shape,
            method,
            p.info.hyperParameters?.dtype ?? (method === 'full' ? 'float32' : 'bfloat16'),
            L.fmt(ms, 0),
            L.fmt(L.median(predict) * 1000, 1),
            L.fmt(ms / (L.median(predict) * 1000), 0),
            L.fmt(tokens / texts.length, 0),
          ]);
        } finally {
          p.dispose();
        }
      } catch (e) {
        rows.push([shape, method, `error: ${L.errorText(e)}`]);
      }
    }
  }
  return {
    title: `Explanations: integrated gradients, ${steps} steps, per post`,
    summary,
    sections: [
      {
        table: {
          columns: [
            'model',
            'method',
            'dtype',
            'explain, ms per post (median)',
            'predict, ms per post (median)',
            'explain / predict',
            'tokens per input',
          ],
          rows,
        },
        notes: [
          `Each method's run: the Trainer, 16 posts, one epoch of batch 8, on the generated weights (full in float32, the others' bases in bfloat16). ${texts.length} posts sampled from train.txt (seed 17), one at a time: \`predictor.predict(text)\`, then \`predictor.explain(text)\` (the predicted label, ${steps} steps), medians after one warm-up explanation.`,
          `An explanation runs the post's ${steps} path points as copies of the sequence, several per forward-and-backward pass (512 tokens per pass), and one more pass for f(input) and f(baseline); a prediction is one forward pass of the sequence (lora: with the prompt's keys and values reused).`,
        ],
      },
    ],
  };
}

module.exports = { run };
