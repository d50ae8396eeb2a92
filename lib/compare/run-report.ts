// `qwen3-native report <run>`: one run's curves (training loss, dev accuracy, learning rate) from its metrics.jsonl,
// drawn as the comparison draws them, with its totals and test result, in one self-contained HTML file.
import * as path from 'path';
import { readRunHistory, RUN_REPORT_FILE } from '../runs/history';
import { readRunInfo } from '../runs/folder';
import { readTestResults } from '../runs/results';
import { type RunInfo, type TestResults } from '../runs/schema';
import { writeFileAtomic } from '../util/atomic-write';
import { devAccuracyChart, learningRateChart, lossCharts, renderSvg, requireChartLibraries } from './charts';
import { count, duration, mb, pct } from './report';
import { esc } from './html';
import { mostConfidentlyWrong, WRONG_POSTS, WRONG_POSTS_STYLE, wrongPostsHtml, wrongPostsOf } from './wrong';
import { loadLabelledFile } from '../classifier/data';
import { Predictor } from '../predict/predictor';

function facts(info: RunInfo, test: TestResults | undefined): [string, string][] {
  const rows: [string, string][] = [
    ['method', info.method],
    ['base model', info.baseModel.repoId ?? info.baseModel.spec],
    ['examples', `${info.trainExamples} train, ${info.devExamples} dev`],
  ];
  if (info.best)
    rows.push([
      'best',
      `dev ${info.best.metric} ${pct(info.best.value)} at epoch ${info.best.epoch}, step ${info.best.step}`,
    ]);
  if (test)
    rows.push([
      'test',
      `accuracy ${pct(test.metrics.accuracy)}, macro-F1 ${pct(test.metrics.macroF1)} on ${test.data.name} (${test.data.count} posts)`,
    ]);
  const t = info.totals;
  if (t) {
    rows.push(
      ['train time', duration(t.trainSeconds)],
      ['steps / examples seen / tokens seen', `${t.steps} / ${t.examplesSeen} / ${t.tokensSeen}`],
      ['parameters', `${count(t.trainableParameters)} trainable of ${count(t.totalParameters)}`],
      ['peak memory', `${mb(t.peakRssBytes)} resident${t.peakGpuBytes === null ? '' : `, ${mb(t.peakGpuBytes)} GPU`}`]
    );
  }
  if (info.data) rows.push(['data sha256', info.data.train.sha256]);
  rows.push(['hyper-parameters', JSON.stringify(info.hyperParameters)]);
  return rows;
}

/** The posts the run gets most confidently wrong, explained: of `test` when given, else its dev posts. */
async function wrongPostsSection(run: string, test: string | undefined, n: number): Promise<string> {
  if (n === 0) return '';
  const source = test === undefined ? 'dev posts' : path.basename(test);
  const predictor = new Predictor({ checkpoint: run });
  try {
    if (test === undefined) return wrongPostsHtml(await wrongPostsOf(predictor, run, n), 'h2');
    const data = await loadLabelledFile(test);
    return wrongPostsHtml({ source, posts: await mostConfidentlyWrong(predictor, data, n) }, 'h2');
  } catch (e) {
    // The curves stand on their own: a run whose model cannot be loaded here still gets them.
    if (test !== undefined) throw e;
    return wrongPostsHtml({ source, posts: [], problem: (e as Error).message }, 'h2');
  } finally {
    predictor.dispose();
  }
}

/**
 * Writes the run's report to `out` (default <run>/report.html); returns the file and how many records it drew. Below
 * the curves, the `wrongPosts` (5) posts the run gets most confidently wrong, explained: of `test` (a labelled file)
 * when given, else its dev posts.
 */
export async function writeRunReport(
  run: string,
  out?: string,
  options: { test?: string; wrongPosts?: number } = {}
): Promise<{ file: string; records: number }> {
  requireChartLibraries();
  const dir = path.resolve(run);
  const info = readRunInfo(dir);
  const history = readRunHistory(dir);
  if (history.length === 0) {
    throw new Error(
      `${dir} has no metrics.jsonl (a run trained before runs recorded their history): train it again to get its curves`
    );
  }
  const series = [{ name: path.basename(dir), method: info.method, history }];
  const svgs: string[] = [];
  const loss = lossCharts(series, 'run').map((c) => c.spec);
  for (const spec of [...loss, devAccuracyChart(series, 'run'), learningRateChart(series)])
    svgs.push(`<figure class="chart">${await renderSvg(spec)}</figure>`);
  const wrong = await wrongPostsSection(dir, options.test, options.wrongPosts ?? WRONG_POSTS);
  const table = facts(info, readTestResults(dir))
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`)
    .join('');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(path.basename(dir))}: training curves</title>
<style>body{font:15px/1.45 system-ui,sans-serif;color:#222;margin:2rem auto;max-width:1180px;padding:0 1rem}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left}
th{background:#f5f5f5}.charts{display:flex;flex-wrap:wrap;gap:1.2rem}figure.chart{margin:0;padding:.5rem;border:1px solid #eee}
.note{color:#555;font-size:13px}.empty{color:#777;font-style:italic}${WRONG_POSTS_STYLE}</style>
</head><body><h1>${esc(path.basename(dir))}</h1><table>${table}</table>
<div class="charts">${svgs.join('\n')}</div>${wrong}</body></html>
`;
  const file = path.resolve(out ?? path.join(dir, RUN_REPORT_FILE));
  writeFileAtomic(file, html);
  return { file, records: history.length };
}
