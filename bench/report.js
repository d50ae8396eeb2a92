// Renders bench/RESULTS.md from the machine description and the cases' results.
'use strict';
const fs = require('fs');
const path = require('path');
const L = require('./lib');

function table(t) {
  const esc = (v) =>
    String(v ?? '')
      .replace(/\|/g, '\\|')
      .replace(/\n/g, ' ');
  const lines = [`| ${t.columns.map(esc).join(' | ')} |`, `|${t.columns.map(() => '---').join('|')}|`];
  for (const row of t.rows) {
    const cells = [...row];
    while (cells.length < t.columns.length) cells.push('');
    lines.push(`| ${cells.map(esc).join(' | ')} |`);
  }
  return lines.join('\n');
}

function goal(label, value, target, ok) {
  return [label, value, target, ok === undefined ? '–' : ok ? 'met' : 'NOT met'];
}

/** The headline numbers against the project's goals. */
function goals(results) {
  const rows = [];
  const fwd = results.forward && results.forward.result && results.forward.result.summary;
  if (fwd) {
    for (const [key, v] of Object.entries(fwd)) {
      if (!key.endsWith('/ours')) continue;
      const name = key.replace('/ours', '');
      rows.push(
        goal(`forward ${name}: ours/eager`, L.ratio(v.ratio), '>= 1x', v.ratio === undefined ? undefined : v.ratio >= 1)
      );
      // A tiny model (hidden 64) is bound by per-operation overhead, not matmuls: the roofline goal is for real shapes.
      if (name.startsWith('tiny')) rows.push([`forward ${name}: % of matmul roofline`, L.pct(v.roofline), '', '']);
      else
        rows.push(
          goal(
            `forward ${name}: % of matmul roofline`,
            L.pct(v.roofline),
            '>= 70%',
            v.roofline === undefined ? undefined : v.roofline >= 0.7
          )
        );
    }
  }
  const tr = results.train && results.train.result && results.train.result.summary;
  if (tr) {
    for (const [key, v] of Object.entries(tr)) {
      // The goal is task level: our Trainer's step (its length-bucketed batches, lm_head only at the answer)
      // against an HF-style step that pads to the longest and projects the vocabulary everywhere.
      const label = `train ${key}: ours (Trainer's step)/HF-style eager step`;
      // The goal names lora and lora-head; full (tiny model only) is reported without one.
      if (key.endsWith('/full')) rows.push([label, L.ratio(v.bucketed), '', '']);
      else
        rows.push(
          goal(label, L.ratio(v.bucketed), '>= 1.3x', v.bucketed === undefined ? undefined : v.bucketed >= 1.3)
        );
      rows.push([`train ${key}: ours/eager on identical batches (like for like)`, L.ratio(v.same), '', '']);
      if (v.oursPeakRss)
        rows.push([
          `train ${key}: peak RSS ours / eager`,
          `${(v.oursPeakRss / 1e9).toFixed(1)} / ${v.eagerPeakRss ? (v.eagerPeakRss / 1e9).toFixed(1) : '–'} GB`,
          '',
          '',
        ]);
    }
  }
  const pr = results.predict && results.predict.result && results.predict.result.summary;
  if (pr) {
    const names = {
      old: "the old script's way (float32, one text at a time)",
      bf16: 'bfloat16, one text at a time',
      'bf16-batched': 'bfloat16, batches of 16',
    };
    for (const [key, byBaseline] of Object.entries(pr)) {
      for (const [b, v] of Object.entries(byBaseline)) {
        const label = `predict ${key}: throughput ours / generation, ${names[b] || b}`;
        rows.push(
          b === 'old' ? goal(label, L.ratio(v.speedup), '>= 10x', v.speedup >= 10) : [label, L.ratio(v.speedup), '', '']
        );
        rows.push(
          goal(
            `predict ${key}: labels agree with greedy first token (${names[b] || b})`,
            L.pct(v.agreement),
            '100%',
            v.agreement === undefined ? undefined : v.agreement === 1
          )
        );
      }
    }
  }
  const em = results.embedding && results.embedding.result && results.embedding.result.summary;
  if (em) {
    for (const [key, v] of Object.entries(em))
      rows.push(
        goal(`embedding ${key}: first epoch / later epoch`, L.ratio(v), '>= 20x', v === undefined ? undefined : v >= 20)
      );
  }
  const mem = results.memory && results.memory.result && results.memory.result.summary;
  if (mem) {
    for (const [key, v] of Object.entries(mem))
      rows.push(goal(`peak RSS, ${key} bf16 prediction`, `${(v / 1e9).toFixed(2)} GB`, '< 1.6 GB', v < 1.6e9));
  }
  const sv = results.serve && results.serve.result && results.serve.result.summary;
  if (sv) {
    rows.push(goal('serve: errors under 64 clients', String(sv.errors), '0', sv.errors === 0));
    rows.push(goal('serve: throughput batching on / off', L.ratio(sv.ratio), '>= 3x', sv.ratio >= 3));
    if (sv.rssGrowth !== undefined)
      rows.push(
        goal(
          `serve: RSS growth from 10,000 to ${sv.requests.toLocaleString('en-US')} requests`,
          `${(sv.rssGrowth * 100).toFixed(1)}%`,
          'within 10%',
          Math.abs(sv.rssGrowth) <= 0.1
        )
      );
  }
  const hf = results.hf && results.hf.result && results.hf.result.summary;
  if (hf) {
    const rss = (v) =>
      v.oursRss && v.hfRss ? `${(v.oursRss / 1e9).toFixed(2)} / ${(v.hfRss / 1e9).toFixed(2)} GB` : '–';
    for (const [key, v] of Object.entries(hf)) {
      if (key === 'torch') continue;
      const [shape, what, dtype] = key.split('/');
      if (what === 'forward') {
        rows.push(
          goal(
            `hf ${shape} forward ${dtype}: ours / transformers`,
            L.ratio(v.ratio),
            '>= 1.2x',
            v.ratio && v.ratio >= 1.2
          )
        );
      } else {
        const label = `hf ${shape} ${what} ${dtype}: training step ours / transformers + PEFT`;
        rows.push(goal(`${label} (same batches)`, L.ratio(v.same), '>= 1.5x', v.same && v.same >= 1.5));
        rows.push([`${label} (the Trainer's batches)`, L.ratio(v.bucketed), '', '']);
      }
      rows.push(
        goal(
          `hf ${shape} ${what} ${dtype}: peak RSS ours / theirs`,
          rss(v),
          'no higher',
          v.oursRss ? v.oursRss <= v.hfRss : undefined
        )
      );
    }
  }
  const tok = results.tokenizer && results.tokenizer.result && results.tokenizer.result.summary;
  if (tok && tok.ratio !== undefined)
    rows.push([
      'tokenizer tokens/s / our bf16 forward tokens/s',
      L.ratio(tok.ratio),
      '>> 1',
      tok.ratio > 10 ? 'met' : 'NOT met',
    ]);
  return rows;
}

/** One case's section, between markers so that a later `--only <case>` run can replace it in place. */
function caseSection(name, r, level, preface = []) {
  if (!r) return [];
  const out = [`<!-- bench:${name} -->`];
  if (!r.ok) {
    out.push(`${level} ${name}`, '', ...preface, `**Error**: \`${String(r.error).split('\n')[0]}\``, '');
  } else {
    const res = r.result;
    out.push(`${level} ${res.title}`, '', ...preface);
    for (const s of res.sections || []) {
      if (s.heading) out.push(`**${s.heading}**`, '');
      if (s.table) out.push(table(s.table), '');
      for (const n of s.notes || []) out.push(`- ${n}`);
      if (s.notes && s.notes.length) out.push('');
    }
    out.push(`_(${(r.seconds / 60).toFixed(1)} min)_`, '');
  }
  out.push(`<!-- /bench:${name} -->`, '');
  return out;
}

/**
 * `--only <case>` on an existing report: each case's section, with its own machine and date, replaces the section of
 * the same case (between its markers) or goes before "## Settings"; every other section stays as it was.
 */
function spliceCases(existing, { machine, results, order, started, finished }) {
  let md = existing;
  for (const name of order) {
    const when = `${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    const preface = [
      `Run on its own by \`npm run bench -- --only ${name}\` on ${when} (${((finished - started) / 60000).toFixed(1)} min), on this machine:`,
      '',
      table({ columns: ['', ''], rows: machine }),
      '',
    ];
    const block = caseSection(name, results[name], '###', preface).join('\n');
    const begin = md.indexOf(`<!-- bench:${name} -->`);
    const endMark = `<!-- /bench:${name} -->`;
    const end = md.indexOf(endMark);
    if (begin >= 0 && end > begin) {
      md = `${md.slice(0, begin)}${block.trimEnd()}${md.slice(end + endMark.length)}`;
    } else {
      const settings = md.indexOf('\n## Settings');
      md =
        settings >= 0
          ? `${md.slice(0, settings + 1)}${block}\n${md.slice(settings + 1)}`
          : `${md.trimEnd()}\n\n${block}`;
    }
  }
  return spliceGoals(md, goals(results));
}

/**
 * The goal rows of the cases just run, put in place of their old rows in "Against the goals" (matched by the
 * measure's name; new measures go at the end of the table), so that the table never contradicts a section.
 */
function spliceGoals(md, rows) {
  const lines = md.split('\n');
  const head = lines.indexOf('## Against the goals');
  if (head < 0 || rows.length === 0) return md;
  let start = head + 1;
  while (start < lines.length && !lines[start].startsWith('| measure')) start++;
  let end = start + 2;
  while (end < lines.length && lines[end].startsWith('|')) end++;
  const fresh = table({ columns: ['measure', 'value', 'goal', ''], rows })
    .split('\n')
    .slice(2);
  const nameOf = (line) => line.split(' | ')[0];
  const byName = new Map(fresh.map((l) => [nameOf(l), l]));
  const kept = lines.slice(start + 2, end).map((l) => byName.get(nameOf(l)) ?? l);
  const added = fresh.filter((l) => !kept.includes(l));
  lines.splice(start + 2, end - start - 2, ...kept, ...added);
  return lines.join('\n');
}

/**
 * The GPU rows come from scripts/gpu-check.sh on a CUDA machine, not from this run: its gpu.md, saved as
 * bench/RESULTS-gpu.md, is carried into every later RESULTS.md (headings one level down).
 */
function gpuSection() {
  const file = path.join(__dirname, 'RESULTS-gpu.md');
  if (fs.existsSync(file))
    return [
      fs
        .readFileSync(file, 'utf8')
        .replace(/^(#+) /gm, '#$1 ')
        .trim(),
    ];
  return [
    'Not measured yet: no CUDA machine has run `scripts/gpu-check.sh` (the goals for these rows: Trainer step tokens/s >= 1.5x transformers + PEFT for lora and lora-head at the same batch, peak GPU memory no higher than theirs, prediction >= 10x their generation). On a GPU machine, `bash scripts/gpu-check.sh` writes gpu.md; saved as bench/RESULTS-gpu.md it appears here, with its date and machine.',
  ];
}

function render({ machine, settings, results, order, quick, started, finished, gpu }) {
  const out = [];
  out.push('# qwen3-native benchmarks', '');
  if (quick) {
    out.push(
      '> **QUICK RUN** (`--quick`): tiny shapes and a handful of posts, a smoke test of the benchmark itself. The numbers say nothing about performance; run `npm run bench` for real ones.',
      ''
    );
  }
  out.push(
    `Generated by \`npm run bench${quick ? ' -- --quick' : ''}\` (bench/run.js) on ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${((finished - started) / 60000).toFixed(1)} min.`,
    'Weights are random (generated at run time with the exact Qwen3 shapes, never committed); speed does not depend on their values.',
    ''
  );
  out.push('## Machine', '', table({ columns: ['', ''], rows: machine }), '');
  const g = goals(results);
  if (g.length) out.push('## Against the goals', '', table({ columns: ['measure', 'value', 'goal', ''], rows: g }), '');
  const emit = (name, r, level) => out.push(...caseSection(name, r, level));
  out.push('## Results', '');
  for (const name of order) emit(name, results[name], '###');
  if (gpu && Object.keys(gpu).length) {
    out.push('## GPU', '', 'Cases 1 and 3 with `device: cuda` (both sides on the GPU).', '');
    for (const [name, r] of Object.entries(gpu)) emit(`${name} (cuda)`, r, '###');
  } else {
    out.push('## GPU', '', ...gpuSection(), '');
  }
  out.push(
    '## Settings',
    '',
    table({
      columns: ['setting', 'value'],
      rows: Object.entries(settings).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]),
    }),
    ''
  );
  out.push(
    'Run `npm run bench` (everything), `npm run bench -- --quick` (smoke), `npm run bench -- --only forward` (one case; repeatable), `node bench/run.js --help` for sample-size options.',
    ''
  );
  return out.join('\n');
}

module.exports = { render, spliceCases };
