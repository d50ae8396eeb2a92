'use strict';
// The loss charts: lora's loss (cross-entropy over the vocabulary, ~12 at the start) gets its own panel beside the
// classifiers' (over the labels, ~0.7), and the legend is drawn with the solid line, not the faint per-step layer.
const test = require('ava');
const { lossCharts, renderSvg } = require('../../dist/compare/charts');

const history = (start) =>
  Array.from({ length: 12 }, (_, i) => ({ type: 'progress', step: i + 1, loss: start / (i + 1), learningRate: 1e-3 }));
const series = [
  { name: 'lora', method: 'lora', history: history(11.9) },
  { name: 'lora-head', method: 'lora-head', history: history(0.69) },
  { name: 'full', method: 'full', history: history(0.7) },
];

test('lora has its own loss panel; the classifiers share one', (t) => {
  const charts = lossCharts(series);
  t.deepEqual(
    charts.map((c) => [c.spec.title, c.spec.data.values.map((v) => v.series).filter((s, i, a) => a.indexOf(s) === i)]),
    [
      ['Training loss: cross-entropy over the vocabulary', ['lora']],
      ['Training loss: cross-entropy over the labels', ['lora-head', 'full']],
    ]
  );
  t.deepEqual(
    charts.map((c) => c.steps),
    [12, 24]
  );
  // One run (or runs of one kind): one panel, named plainly.
  t.deepEqual(
    lossCharts(series.slice(1, 2), 'run').map((c) => c.spec.title),
    ['Training loss']
  );
});

test('the legend symbols are opaque', async (t) => {
  const svg = await renderSvg(lossCharts(series)[1].spec);
  const symbols = [...svg.matchAll(/role-legend-symbol"[^>]*><path [^>]*opacity="([\d.]+)"/g)].map((m) => Number(m[1]));
  t.is(symbols.length, 2, 'one symbol per series');
  t.deepEqual(symbols, [1, 1]);
});
