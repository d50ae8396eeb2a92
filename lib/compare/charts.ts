// The report's charts: Vega-Lite specifications rendered to static SVG in Node by Vega (a headless View, renderer
// 'none'), so report.html shows them with no script and no network. vega/vega-lite 5.x: their CommonJS builds load
// with require() on every Node this package supports (the 6.x line is ESM-only). They are optional peer dependencies:
// 41 MB and 85 of the 151 packages an install had, for the two commands that draw (compare, report).
import type { TopLevelSpec } from 'vega-lite';
import { lossOverVocabulary, type Method } from '../classifier/methods';
import type { HistoryRecord } from '../runs/history';

/** What a user runs to draw charts: the range of the package's peerDependencies. */
export const CHART_LIBRARIES_INSTALL = 'npm install vega@5 vega-lite@5';

/**
 * Throws, naming the install command, when vega or vega-lite cannot be found; compare and report call it before any
 * work, so a missing library costs no training time.
 */
export function requireChartLibraries(resolve: (id: string) => string = require.resolve): void {
  const missing = ['vega', 'vega-lite'].filter((name) => {
    try {
      resolve(name);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length)
    throw new Error(
      `compare and report draw their charts with vega and vega-lite, optional dependencies that are not installed ` +
        `(missing: ${missing.join(', ')}); install them beside qwen3-native: ${CHART_LIBRARIES_INSTALL}`
    );
}

const WIDTH = 560;
const HEIGHT = 240;

const CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const, offset: 10 },
  range: { category: ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#ff9da6', '#9d755d'] },
};

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  requireChartLibraries();
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const view = new vega.View(vega.parse(vl.compile({ config: CONFIG, ...spec } as TopLevelSpec).spec), {
    renderer: 'none',
  });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One row per optimizer step and per evaluation, tagged with the series (method or run) it belongs to. */
export interface Series {
  name: string;
  /** the run's method: it says what its loss is over */
  method: Method;
  history: HistoryRecord[];
}

function progressRows(series: Series[]) {
  return series.flatMap((s) =>
    s.history.flatMap((r) =>
      r.type === 'progress' ? [{ series: s.name, step: r.step, loss: r.loss, learningRate: r.learningRate }] : []
    )
  );
}

function evalRows(series: Series[]) {
  return series.flatMap((s) =>
    s.history.flatMap((r) =>
      r.type === 'eval' ? [{ series: s.name, step: r.step, accuracy: r.accuracy, macroF1: r.macroF1 }] : []
    )
  );
}

const color = (title: string) => ({ field: 'series', type: 'nominal' as const, title });

/** A colour legend drawn with solid marks, whatever the opacity of the layer it is read from. */
const solidLegend = (title: string) => ({ ...color(title), legend: { symbolOpacity: 1, symbolStrokeWidth: 2 } });

/** Training loss against step: each step's loss faint, a trailing mean of 10 steps on top. */
function lossChart(title: string, series: Series[], legend: string): TopLevelSpec {
  return {
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: progressRows(series) },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'optimizer step' },
      color: solidLegend(legend),
    },
    layer: [
      {
        mark: { type: 'line', opacity: 0.25, strokeWidth: 1 },
        encoding: { y: { field: 'loss', type: 'quantitative' } },
      },
      {
        transform: [
          {
            window: [{ op: 'mean', field: 'loss', as: 'smoothed' }],
            frame: [-9, 0],
            groupby: ['series'],
            sort: [{ field: 'step' }],
          },
        ],
        mark: { type: 'line', strokeWidth: 2 },
        encoding: { y: { field: 'smoothed', type: 'quantitative', title: 'loss (mean of the last 10 steps)' } },
      },
    ],
  } as TopLevelSpec;
}

/**
 * The training-loss charts: one panel for the runs whose loss is over the vocabulary (lora) and one for those over
 * the labels, as their scales differ ~17x at the start; each with the number of steps it draws.
 */
export function lossCharts(series: Series[], legend = 'method'): { spec: TopLevelSpec; steps: number }[] {
  const groups = [
    {
      title: 'Training loss: cross-entropy over the vocabulary',
      series: series.filter((s) => lossOverVocabulary(s.method)),
    },
    {
      title: 'Training loss: cross-entropy over the labels',
      series: series.filter((s) => !lossOverVocabulary(s.method)),
    },
  ].filter((g) => g.series.length > 0);
  return groups.map((g) => ({
    spec: lossChart(groups.length > 1 || series.length > 1 ? g.title : 'Training loss', g.series, legend),
    steps: progressRows(g.series).length,
  }));
}

/** Dev-set accuracy at each evaluation. */
export function devAccuracyChart(series: Series[], legend = 'method'): TopLevelSpec {
  return {
    title: 'Dev accuracy during training',
    width: WIDTH,
    height: HEIGHT,
    data: { values: evalRows(series) },
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'optimizer step' },
      y: { field: 'accuracy', type: 'quantitative', title: 'dev accuracy', axis: { format: '%' } },
      color: color(legend),
    },
  } as TopLevelSpec;
}

/** Learning rate against step (one run's report). */
export function learningRateChart(series: Series[]): TopLevelSpec {
  return {
    title: 'Learning rate',
    width: WIDTH,
    height: 160,
    data: { values: progressRows(series) },
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'optimizer step' },
      y: { field: 'learningRate', type: 'quantitative', title: 'learning rate', axis: { format: '.1e' } },
      color: color('run'),
    },
  } as TopLevelSpec;
}

export interface MethodPoint {
  method: string;
  accuracy: number;
  postsPerSecond: number;
  trainSeconds: number | null;
  latencyP50: number;
  latencyP95: number;
  trainRssMB: number | null;
  predictRssMB: number;
}

/** Test accuracy against prediction throughput: one labelled point per method. */
export function accuracySpeedChart(points: MethodPoint[]): TopLevelSpec {
  return {
    title: 'Test accuracy against prediction speed',
    width: WIDTH,
    height: HEIGHT,
    data: { values: points },
    encoding: {
      x: { field: 'postsPerSecond', type: 'quantitative', scale: { type: 'log' }, title: 'posts per second (log)' },
      y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy', axis: { format: '%' } },
      color: { field: 'method', type: 'nominal', legend: null },
    },
    layer: [
      { mark: { type: 'point', filled: true, size: 120 } },
      { mark: { type: 'text', dx: 8, align: 'left', fontSize: 12 }, encoding: { text: { field: 'method' } } },
    ],
  } as TopLevelSpec;
}

function bars(title: string, values: object[], x: string, unit: string): TopLevelSpec {
  return {
    title,
    width: WIDTH,
    data: { values },
    encoding: {
      y: { field: 'method', type: 'nominal', title: null, sort: null },
      yOffset: { field: 'measure', sort: null },
      x: { field: x, type: 'quantitative', title: unit },
      color: { field: 'measure', type: 'nominal', title: null, sort: null },
    },
    layer: [
      { mark: { type: 'bar', height: { band: 0.9 } } },
      { mark: { type: 'text', align: 'left', dx: 3, fontSize: 11 }, encoding: { text: { field: x, format: ',.3~r' } } },
    ],
  } as TopLevelSpec;
}

/** Training wall time and one-post latency per method. */
export function timeCharts(points: MethodPoint[]): TopLevelSpec[] {
  const train = points.filter((p) => p.trainSeconds !== null);
  const out: TopLevelSpec[] = [];
  if (train.length)
    out.push(
      bars(
        'Training wall time',
        train.map((p) => ({ method: p.method, measure: 'train', seconds: p.trainSeconds })),
        'seconds',
        'seconds'
      )
    );
  out.push(
    bars(
      'Latency of one post',
      points.flatMap((p) => [
        { method: p.method, measure: 'p50', ms: p.latencyP50 },
        { method: p.method, measure: 'p95', ms: p.latencyP95 },
      ]),
      'ms',
      'milliseconds'
    )
  );
  return out;
}

/** Peak resident memory of training and of prediction per method. */
export function memoryChart(points: MethodPoint[]): TopLevelSpec {
  return bars(
    'Peak memory (resident set)',
    points.flatMap((p) => [
      ...(p.trainRssMB === null ? [] : [{ method: p.method, measure: 'training', MB: p.trainRssMB }]),
      { method: p.method, measure: 'prediction', MB: p.predictRssMB },
    ]),
    'MB',
    'MB (10^6 bytes)'
  );
}
