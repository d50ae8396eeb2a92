// Case 6a: tokenizer throughput (Qwen3Tokenizer.encodeBatch over the Weibo posts) against model forward tokens/s.
'use strict';
const L = require('./lib');

async function run(ctx) {
  const { Qwen3Tokenizer } = L.dist('index');
  const texts = L.loadPosts()
    .slice(0, ctx.settings.tokenizerPosts)
    .map((p) => p.text);
  const tok = await Qwen3Tokenizer.bundled();
  await tok.encodeBatch(texts.slice(0, 100)); // warm-up
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const { value, seconds } = await L.timed(() => tok.encodeBatch(texts));
    runs.push({ seconds, tokens: L.sum(value.map((s) => s.length)) });
    L.log(`  tokenizer: ${texts.length} posts, ${runs[i].tokens} tokens in ${seconds.toFixed(2)} s`);
  }
  const best = runs.reduce((a, b) => (a.seconds < b.seconds ? a : b));
  const tps = best.tokens / best.seconds;
  const single = await L.timed(async () => {
    for (const t of texts.slice(0, 500)) await tok.encode(t);
  });
  const forward = ctx.previousForward;
  const rows = [
    [
      'encodeBatch (all posts, one call)',
      texts.length,
      L.fmt(best.tokens, 0),
      L.fmt(best.seconds, 2),
      L.fmt(tps, 0),
      forward ? L.ratio(tps / forward) : '–',
    ],
    ['encode (one post per call, 500 posts)', 500, '', L.fmt(single.seconds, 2), '', ''],
  ];
  return {
    title: 'Tokenizer',
    summary: { tokensPerSecond: tps, ratio: forward ? tps / forward : undefined },
    sections: [
      {
        table: {
          columns: ['call', 'posts', 'tokens', 'seconds (best of 3)', 'tokens/s', 'vs our bf16 forward tokens/s'],
          rows,
        },
        notes: [
          `Qwen3Tokenizer (@huggingface/tokenizers, on its worker thread) on the first ${texts.length} posts of train.txt. The last column divides by our bf16 forward tokens/s from the forward case${forward ? ` (${forward.toFixed(0)} tokens/s)` : ' (not run)'}: tokenization is that many times faster than the model, i.e. never the bottleneck.`,
        ],
      },
    ],
  };
}

module.exports = { run };
