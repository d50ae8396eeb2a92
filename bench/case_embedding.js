// Case 5: the embedding method's cache: the first epoch computes Qwen3-Embedding vectors (every layer for every
// token), later epochs only train the head on the cached vectors.
'use strict';
const fs = require('fs');
const path = require('path');
const L = require('./lib');

async function run(ctx) {
  const st = ctx.settings;
  const { Trainer } = L.dist('index');
  const posts = L.samplePosts(st.embeddingPosts + st.embeddingEval, 17);
  const pick = (xs) => ({ texts: xs.map((p) => p.text), labels: xs.map((p) => p.label) });
  const train = pick(posts.slice(0, st.embeddingPosts));
  const evalData = pick(posts.slice(st.embeddingPosts));
  const rows = [];
  const summary = {};
  for (const shape of ctx.shapes) {
    try {
      const dir = await L.ensureWeights(shape, 'embedding');
      const out = path.join(L.WORK, 'runs', `embedding-${shape}`);
      const cacheDir = path.join(L.WORK, 'runs', `embedding-cache-${shape}`);
      fs.rmSync(out, { recursive: true, force: true });
      fs.rmSync(cacheDir, { recursive: true, force: true }); // a cold cache: the first epoch really computes
      const trainer = new Trainer({
        method: 'embedding',
        model: dir,
        output: out,
        epochs: st.embeddingEpochs,
        device: ctx.device,
        dtype: 'bfloat16',
        cacheDir,
        seed: 3,
      });
      const marks = [];
      // 'embedding' progress runs from done 0 of the train posts to done = total of the eval posts.
      let embeddingStart;
      let embeddingsMs;
      let steps = 0;
      trainer.on('embedding', (e) => {
        const now = Date.now();
        if (embeddingStart === undefined) embeddingStart = now;
        if (e.done >= e.total) embeddingsMs = now - embeddingStart;
      });
      trainer.once('progress', () => {
        L.log(
          `  embedding ${shape}: vectors for ${train.texts.length + evalData.texts.length} posts in ${(embeddingsMs / 1000).toFixed(1)} s`
        );
      });
      trainer.on('progress', () => steps++);
      trainer.on('eval', (e) => {
        marks.push({ epoch: e.epoch, at: Date.now() });
        L.log(`  embedding ${shape}: epoch ${e.epoch} done (accuracy ${e.metrics.accuracy.toFixed(3)})`);
      });
      L.log(`embedding ${shape}: Trainer, ${train.texts.length} posts, ${st.embeddingEpochs} epochs`);
      const start = Date.now();
      await trainer.train(train, { evalData });
      const epochMs = marks.map((m, i) => m.at - (i === 0 ? start : marks[i - 1].at));
      const later = epochMs.slice(1);
      const ratio = later.length ? epochMs[0] / (L.sum(later) / later.length) : undefined;
      summary[shape] = ratio;
      rows.push([
        shape,
        train.texts.length,
        L.fmt(embeddingsMs / 1000, 2),
        L.fmt(epochMs[0] / 1000, 2),
        later.map((ms) => L.fmt(ms / 1000, 3)).join(', '),
        L.ratio(ratio),
        steps / st.embeddingEpochs,
      ]);
    } catch (e) {
      rows.push([shape, `error: ${L.errorText(e)}`]);
    }
  }
  return {
    title: 'Embedding method: first epoch (computes the vectors) vs later epochs (cached)',
    summary,
    sections: [
      {
        table: {
          columns: [
            'model',
            'train posts',
            'embeddings s',
            'epoch 1 s',
            'later epochs s',
            'epoch 1 / mean later',
            'steps per epoch',
          ],
          rows,
        },
        notes: [
          `Trainer({ method: 'embedding', dtype: 'bfloat16', epochs: ${st.embeddingEpochs} }) (default mlp head, batch 64) on ${st.embeddingPosts} posts sampled from train.txt (seed 17), evalData ${st.embeddingEval} other posts, on the generated Qwen3-Embedding-shaped checkpoint (Qwen3Model keys, vocab 151,669), with an empty cacheDir.`,
          "epoch 1 = from train() to the end of epoch 1's evaluation: model load, tokenization, embedding every train and eval post (the \"embeddings s\" column: from the first 'embedding' progress event, done 0, to the last), then the head's steps. A later epoch = from one evaluation to the next (head steps + evaluation + checkpoint).",
        ],
      },
    ],
  };
}

module.exports = { run };
