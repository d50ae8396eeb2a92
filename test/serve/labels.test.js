'use strict';
// serve with a run of another label set: /v1/models lists its labels, predictions carry N probabilities and name
// them (in-process, on a stand-in predictor: the HTTP layer's part; label sets themselves: labels.test.js).
const test = require('ava');
const { startServer } = require('../../dist');

const SET = ['消极', '中性', '积极'];

function standIn(name, labels) {
  return {
    info: {
      method: 'lora-head',
      baseModel: { spec: 'stand-in' },
      labels: Object.fromEntries(labels.map((l, i) => [String(i), l])),
      maxLength: 8,
    },
    labels,
    runFolder: () => `/runs/${name}`,
    load: () => Promise.resolve(),
    async predict(texts) {
      return texts.map((text) => {
        const probabilities = labels.map((_, i) =>
          i === text.length % labels.length ? 0.5 : 0.5 / (labels.length - 1)
        );
        const label = text.length % labels.length;
        return { text, label, sentiment: labels[label], confidence: 0.5, probabilities, model: name };
      });
    },
    dispose() {},
  };
}

test("serve: /v1/models lists each run's labels; predictions of a three-way run carry 3 probabilities and the labels", async (t) => {
  const server = await startServer(
    { host: '127.0.0.1', port: 0, logFormat: 'json' },
    { predictors: [standIn('three', SET), standIn('binary', ['负面', '正面'])], logStream: { write() {} } }
  );
  try {
    await server.ready;
    const models = await (await fetch(`${server.url}/v1/models`)).json();
    t.deepEqual(
      models.models.map((m) => m.labels.map((l) => l.sentiment)),
      [SET, ['负面', '正面']]
    );
    const post = (body) =>
      fetch(`${server.url}/v1/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    const three = await post({ texts: ['ab', 'a'] });
    t.deepEqual(three.predictions[0], {
      text: 'ab',
      label: 2,
      sentiment: '积极',
      confidence: 0.5,
      probabilities: [0.25, 0.25, 0.5],
      model: 'three',
      labels: SET,
    });
    const binary = await post({ text: 'ab', model: 'binary' });
    t.deepEqual(Object.keys(binary.predictions[0]), [
      'text',
      'label',
      'sentiment',
      'confidence',
      'probabilities',
      'model',
    ]);
  } finally {
    await server.stop();
  }
});
