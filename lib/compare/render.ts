// report.md and report.html. The HTML is one self-contained file: inline CSS and the charts as inline SVG (no script,
// no network), so it opens the same from a disk, a mail attachment or a CI artifact.
import * as path from 'path';
import { esc } from './html';
import { WRONG_POSTS_STYLE, wrongPostsHtml } from './wrong';
import {
  accuracySpeedChart,
  devAccuracyChart,
  lossCharts,
  memoryChart,
  renderSvg,
  timeCharts,
  type Series,
} from './charts';
import {
  chartPoints,
  classTable,
  confusionTable,
  methodNotes,
  summaryTable,
  type CompareReport,
  type MachineInfo,
} from './report';

type Table = { header: string[]; rows: string[][] };

function mdTable(t: Table): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${t.header.map(cell).join(' | ')} |`,
    `|${t.header.map(() => '---').join('|')}|`,
    ...t.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

function machineRows(m: MachineInfo): [string, string][] {
  const load = (l?: number[]) => (l ? l.map((x) => x.toFixed(2)).join(' ') : 'n/a');
  return [
    ['CPU', `${m.cpu} (${m.cores} cores${m.cpuBf16 ? ', native bf16' : ''})`],
    ['memory', `${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB`],
    ['libtorch', `${m.libtorch}, ${m.threads} intra-op threads, CUDA ${m.cuda ? 'yes' : 'no'}`],
    ['node / OS', `${m.node} / ${m.os}`],
    ['load average (1, 5, 15 min) at start / end', `${load(m.loadAverageStart)} / ${load(m.loadAverageEnd)}`],
  ];
}

function settingRows(r: CompareReport): [string, string][] {
  const s = r.settings;
  const rows: [string, string][] = [];
  if (s.train) rows.push(['training data', s.train]);
  rows.push(['test data', `${s.test} (${s.testPosts} posts)`]);
  if (s.base) rows.push(['base model', s.base]);
  if (s.seed !== undefined) rows.push(['seed', String(s.seed)]);
  if (s.epochs !== undefined) rows.push(['epochs', String(s.epochs)]);
  if (s.maxSamples !== undefined) rows.push(['max samples', String(s.maxSamples)]);
  rows.push(['generated', `${r.generatedAt} by ${r.tool} ${r.version} in ${(r.seconds / 60).toFixed(1)} min`]);
  return rows;
}

export function renderMarkdown(r: CompareReport): string {
  const out = [`# Which method? Measured: ${r.results.map((x) => x.method).join(', ')}`, ''];
  out.push(mdTable(summaryTable(r.results)), '');
  out.push('Charts: report.html (training loss, dev accuracy, accuracy against speed, time and memory).', '');
  out.push('## How it was measured', '', ...methodNotes(r).map((n) => `- ${n}`), '');
  out.push('## Machine and settings', '');
  out.push(mdTable({ header: ['', ''], rows: [...machineRows(r.machine), ...settingRows(r)] }), '');
  for (const x of r.results) {
    out.push(`## ${x.method}: ${x.name}`, '');
    out.push(`Run folder \`${x.run}\`, base \`${x.base}\`.`, '');
    out.push(mdTable(classTable(x)), '', mdTable(confusionTable(x)), '');
  }
  return out.join('\n');
}

function htmlTable(t: Table, cls = ''): string {
  return (
    `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${t.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${t.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`
  );
}

const STYLE = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:2rem auto;max-width:1180px;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:13px}th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
th{background:#f5f5f5}td:first-child,th:first-child{text-align:left}.wide{display:block;overflow-x:auto}
.charts{display:flex;flex-wrap:wrap;gap:1.2rem}figure.chart{margin:0;padding:.5rem;border:1px solid #eee;border-radius:6px}
.note{color:#555;font-size:13px}.empty{color:#777;font-style:italic}
${WRONG_POSTS_STYLE}
`;

/** Renders each spec; a chart without data becomes a short note instead of an empty frame. */
async function figures(specs: { spec: Parameters<typeof renderSvg>[0]; rows: number; what: string }[]) {
  const out: string[] = [];
  for (const s of specs) {
    if (s.rows === 0) out.push(`<p class="empty">${esc(s.what)}: no data recorded.</p>`);
    else out.push(`<figure class="chart">${await renderSvg(s.spec)}</figure>`);
  }
  return out.join('\n');
}

export function seriesOf(r: CompareReport): Series[] {
  return r.results.map((x) => ({
    name: x.name === x.method ? x.method : `${x.method} (${x.name})`,
    method: x.method,
    history: x.history,
  }));
}

export async function renderHtml(r: CompareReport): Promise<string> {
  const series = seriesOf(r);
  const points = chartPoints(r.results);
  const evals = series.reduce((n, s) => n + s.history.filter((h) => h.type === 'eval').length, 0);
  const charts = await figures([
    ...lossCharts(series).map((c) => ({ spec: c.spec, rows: c.steps, what: 'Training loss' })),
    { spec: devAccuracyChart(series), rows: evals, what: 'Dev accuracy' },
    { spec: accuracySpeedChart(points), rows: points.length, what: 'Accuracy against speed' },
    ...timeCharts(points).map((spec) => ({ spec, rows: points.length, what: 'Time' })),
    { spec: memoryChart(points), rows: points.length, what: 'Memory' },
  ]);
  const kv = (rows: [string, string][]) => htmlTable({ header: ['', ''], rows });
  const details = r.results
    .map(
      (x) =>
        `<h3>${esc(x.method)}: ${esc(x.name)}</h3><p class="note">run folder ${esc(x.run)}, base ${esc(x.base)}</p>` +
        `<div class="charts"><div>${htmlTable(classTable(x))}</div><div>${htmlTable(confusionTable(x))}</div></div>` +
        (r.settings.wrongPosts && x.wrong ? wrongPostsHtml(x.wrong, 'h4') : '')
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>qwen3-native compare: ${esc(r.results.map((x) => x.method).join(', '))}</title><style>${STYLE}</style></head>
<body>
<h1>Which method? Measured on ${esc(path.basename(r.settings.test))}</h1>
<p class="note">${esc(r.settings.base ? `Base: ${r.settings.base}. ` : '')}${esc(r.generatedAt)}, ${esc(r.machine.cpu)}.</p>
<div class="wide">${htmlTable(summaryTable(r.results), 'summary')}</div>
<h2>Charts</h2>
<div class="charts">
${charts}
</div>
<h2>Per method</h2>
${details}
<h2>How it was measured</h2>
<ul>${methodNotes(r)
    .map((n) => `<li>${esc(n)}</li>`)
    .join('')}</ul>
<h2>Machine and settings</h2>
${kv([...machineRows(r.machine), ...settingRows(r)])}
</body></html>
`;
}
