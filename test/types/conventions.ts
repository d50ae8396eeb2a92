// What a TypeScript user of the package writes with today's conventions: `await using`, an AbortSignal, the union
// input of predict, predictStream. It must type-check against the package's declarations with @types/node and
// without it (the DOM library's AbortController then): test/types/declarations.test.js, scripts/check-package.sh.
import { Predictor, Qwen3Model, Trainer, startServer, type Prediction, type TrainResult } from 'qwen3-native';

export async function conventions(input: string | string[], lines: AsyncIterable<string>): Promise<number> {
  const controller = new AbortController();
  await using predictor = new Predictor({ checkpoint: 'models/qwen3_lora_tiny' });
  using model = await Qwen3Model.load('/tmp/tiny');
  await using trainer = new Trainer({ method: 'lora', model: 'tiny', epochs: 1 });
  await using server = await startServer({ port: 0 });
  const either: Prediction | Prediction[] = await predictor.predict(input, { signal: controller.signal });
  const one: Prediction = await predictor.predict('今天天气真好', { signal: controller.signal });
  const many: Prediction[] = await predictor.predict(['a', 'b']);
  let streamed = 0;
  for await (const p of predictor.predictStream(lines, { flushTexts: 8, flushMs: 50, signal: controller.signal })) {
    streamed += p.confidence;
  }
  const result: TrainResult = await trainer.train('data.txt', { signal: controller.signal });
  controller.abort();
  return (
    (Array.isArray(either) ? either.length : either.label) +
    one.label +
    many.length +
    streamed +
    result.steps +
    model.config.hidden_size +
    server.url.length
  );
}
