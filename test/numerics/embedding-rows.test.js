'use strict';
// The embedding table kept in the checkpoint file (rows read per lookup, as for Qwen3-0.6B and larger) gives the
// same results as the float64 reference. Forced on for the small fixtures, which would otherwise load it.
process.env.QWEN3_NATIVE_MAP_EMBEDDINGS = 'always';

const test = require('ava');
const { Qwen3Model } = require('../../dist');
const { maxAbsDiff, goldens, fixtureModel } = require('../helpers/util');

// Stored in float32 (the mapping is used when the stored dtype is the one asked for); tied, sharded, embedding.
for (const name of ['tiny-tied-f32', 'tiny-sharded-f32-gqa2', 'tiny-embedding-f32']) {
  test.serial(`${name}: rows read from the file match the float64 reference`, async (t) => {
    const g = goldens(name);
    const model = await Qwen3Model.load(fixtureModel(name), { device: 'cpu', dtype: 'float32' });
    try {
      if (model.hasLmHead) {
        // Tied: the label-row and full-vocabulary products read the same table.
        const logits = await model.lastTokenLogits(g.sequences);
        g.sequences.forEach((_, i) => t.true(maxAbsDiff(logits[i], g.last_token_logits[i]) < 1e-4, `logits row ${i}`));
      }
      const hidden = await model.embed(g.sequences, { normalize: false });
      g.sequences.forEach((_, i) => t.true(maxAbsDiff(hidden[i], g.last_token_hidden[i]) < 1e-4, `hidden row ${i}`));
    } finally {
      model.dispose();
    }
  });
}

test.serial('an unknown QWEN3_NATIVE_MAP_EMBEDDINGS value is named in the load error', async (t) => {
  process.env.QWEN3_NATIVE_MAP_EMBEDDINGS = 'sometimes';
  try {
    await t.throwsAsync(Qwen3Model.load(fixtureModel('tiny-tied-f32'), { device: 'cpu', dtype: 'float32' }), {
      message: /QWEN3_NATIVE_MAP_EMBEDDINGS is 'sometimes'; expected always, never or auto/,
    });
  } finally {
    process.env.QWEN3_NATIVE_MAP_EMBEDDINGS = 'always';
  }
});
