'use strict';
// `npm run lint` part: every GitHub workflow parses as YAML (with the `yaml` package; GitHub Actions cannot run
// here), each job has runs-on and steps, every step has run or uses, and every repository script a step runs
// (`bash scripts/x.sh`, `bash .github/x.sh`, `node scripts/x.js`) exists.
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

const ROOT = path.resolve(__dirname, '..');
const DIR = path.join(ROOT, '.github', 'workflows');
const problems = [];
const files = fs.existsSync(DIR) ? fs.readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)) : [];
for (const f of files) {
  const doc = YAML.parseDocument(fs.readFileSync(path.join(DIR, f), 'utf8'), { prettyErrors: true });
  for (const e of [...doc.errors, ...doc.warnings]) problems.push(`${f}: ${e.message}`);
  if (doc.errors.length) continue;
  const wf = doc.toJS();
  if (!wf.on) problems.push(`${f}: no "on" triggers`);
  for (const [name, job] of Object.entries(wf.jobs || {})) {
    if (!job['runs-on']) problems.push(`${f}: job ${name} has no runs-on`);
    if (!Array.isArray(job.steps) || job.steps.length === 0) problems.push(`${f}: job ${name} has no steps`);
    for (const need of [].concat(job.needs || []))
      if (!wf.jobs[need]) problems.push(`${f}: job ${name} needs unknown job ${need}`);
    (job.steps || []).forEach((step, i) => {
      if (!step.run === !step.uses) problems.push(`${f}: job ${name} step ${i + 1} needs exactly one of run/uses`);
      for (const m of String(step.run || '').matchAll(/(?:bash|node)\s+((?:scripts|\.github)\/[\w./-]+)/g)) {
        if (!fs.existsSync(path.join(ROOT, m[1])))
          problems.push(`${f}: job ${name} runs ${m[1]}, which does not exist`);
      }
    });
  }
}
if (problems.length) {
  console.error(`check-workflows:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`check-workflows: ${files.length} workflow(s) ok`);
