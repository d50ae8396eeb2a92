'use strict';
// Adapters trained here are PEFT files: an independent float64 implementation of PEFT's semantics
// (scripts/reference/peft_ref.py, numpy) reproduces our predictions from the saved files alone.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { ROOT, tmpDir, maxAbsDiff, fixtureModel } = require('../helpers/util');
const { pack, openClassifier, softmax } = require('../helpers/native');
const { peftAdapterConfig } = require('../../dist/runs/peft');
const { readSafetensors } = require('../helpers/safetensors');

const PYTHON = '/usr/bin/python3';
const hasNumpy = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
// CI installs python3-numpy (scripts/setup.sh): there the check must run, never be skipped.
const maybe = hasNumpy || process.env.CI ? test : test.skip;

function reference(modelDir, adapterDir, sequences) {
  const seqFile = path.join(tmpDir(), 'seqs.json');
  fs.writeFileSync(seqFile, JSON.stringify(sequences));
  const r = spawnSync(PYTHON, [path.join(ROOT, 'scripts/reference/adapter_logits.py'), modelDir, adapterDir, seqFile], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const TRAIN = [
  [[3, 17, 99, 7], 0],
  [[45, 2, 200, 18, 11], 1],
  [[9, 9, 9, 120, 7], 0],
  [[250, 1, 11], 1],
];
const PROBE = [[5, 6, 7], [100, 101, 102, 103, 104, 105], [42], [7, 11, 7, 11, 9, 200, 30, 1]];

for (const method of ['lora', 'lora-head']) {
  for (const base of ['tiny-tied-f32', 'tiny-untied-bf16-gqa3']) {
    maybe(
      `${method} on ${base}: a trained and saved adapter is reproduced by the float64 PEFT reference`,
      async (t) => {
        const lora = {
          r: 4,
          alpha: 8,
          dropout: 0,
          rslora: method === 'lora-head',
          targetModules: ['q_proj', 'v_proj', 'o_proj', 'up_proj'],
        };
        const trainer = await openClassifier(base, { method, lora, labelTokens: [7, 11], endToken: 5, seed: 5 });
        for (let step = 0; step < 5; step++) {
          const { ids, lengths } = pack(TRAIN.map((x) => x[0]));
          await trainer.accumulate(ids, lengths, true, Int32Array.from(TRAIN.map((x) => x[1])), 1);
          await trainer.step(0.05, 1);
        }
        const dir = tmpDir();
        await trainer.saveWeights(path.join(dir, 'adapter_model.safetensors'));
        const info = { method, lora, baseModel: { spec: base } };
        fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify(peftAdapterConfig(info)));
        trainer.dispose();
        // Training moved B away from its zero init, so the check below is not of the base model alone.
        const { tensors } = await readSafetensors(path.join(dir, 'adapter_model.safetensors'));
        const bMax = Math.max(
          ...Object.keys(tensors)
            .filter((k) => k.includes('lora_B'))
            .map((k) => Math.max(...tensors[k].data.map(Math.abs)))
        );
        t.true(bMax > 1e-3, `lora_B max ${bMax}`);

        const ref = reference(fixtureModel(base), dir, PROBE);
        const { ids, lengths } = pack(PROBE);
        if (method === 'lora') {
          const vocab = ref.last_token_logits[0].length;
          const c = await openClassifier(base, {
            method,
            lora,
            training: false,
            numLabels: vocab,
            labelTokens: Array.from({ length: vocab }, (_, i) => i),
          });
          await c.loadWeights(path.join(dir, 'adapter_model.safetensors'));
          const probs = await c.predict(ids, lengths, true);
          PROBE.forEach((_, i) =>
            t.true(
              maxAbsDiff(probs.subarray(i * vocab, (i + 1) * vocab), softmax(ref.last_token_logits[i])) < 1e-5,
              `row ${i}`
            )
          );
          c.dispose();
        } else {
          t.truthy(ref.seq_cls_logits, 'the reference found the score head under base_model.model.score.weight');
          const c = await openClassifier(base, { method, lora, training: false });
          await c.loadWeights(path.join(dir, 'adapter_model.safetensors'));
          const probs = await c.predict(ids, lengths, true);
          PROBE.forEach((_, i) =>
            t.true(maxAbsDiff(probs.subarray(i * 2, i * 2 + 2), softmax(ref.seq_cls_logits[i])) < 1e-5, `row ${i}`)
          );
          c.dispose();
        }
      }
    );
  }
}
