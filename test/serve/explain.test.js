'use strict';
// POST /v1/explain on a real `serve` process: token attributions as `predict --explain --json` gives them, its own
// limit on texts, label checks naming the labels, and the time budget.
const test = require('ava');
const path = require('path');
const { childEnv } = require('../helpers/env');
const { assertError, killServers, predict, spawnServe } = require('../helpers/serve');
const { tmpDir, weiboData, weiboLines, trainTinyLoraRun } = require('../helpers/util');
const { API_KEY_ENV } = require('../../dist');

const WORK = tmpDir('q3n-serve-explain-');
const ENV = childEnv();
delete ENV[API_KEY_ENV];
const { texts, labels } = weiboData(weiboLines(32));
const run = trainTinyLoraRun({ base: path.join(WORK, 'base'), seed: 4, output: path.join(WORK, 'run'), texts, labels });
const POSTS = ['今天天气真好，我很开心😀！', '太失望了', '看《流星花园》其实也还好啦'];

test.after.always(() => killServers());

const explain = (url, body) => predict(url, body, { route: '/v1/explain' });

test('POST /v1/explain answers each text with its spans; label by id or name; its own text limit', async (t) => {
  const s = await spawnServe(['--checkpoint', await run, '--max-explain-texts', '2'], { cwd: WORK, env: ENV });
  const one = await explain(s.url, { text: POSTS[0] });
  t.is(one.status, 200, one.text);
  const [e] = one.json.explanations;
  t.deepEqual(Object.keys(e), ['text', 'label', 'sentiment', 'probability', 'predicted', 'steps', 'tokens', 'model']);
  t.is(e.tokens.map((x) => x.text).join(''), POSTS[0]);
  t.true(e.predicted);
  t.is(e.steps, 32);
  const p = await predict(s.url, { text: POSTS[0] });
  t.is(e.label, p.json.predictions[0].label);
  t.is(e.probability, p.json.predictions[0].confidence);

  const two = await explain(s.url, { texts: POSTS.slice(1), label: '负面', steps: 8 });
  t.is(two.status, 200, two.text);
  t.deepEqual(
    two.json.explanations.map((x) => [x.text, x.label, x.steps]),
    [
      [POSTS[1], 0, 8],
      [POSTS[2], 0, 8],
    ]
  );
  const byId = await explain(s.url, { text: POSTS[1], label: 0, steps: 8 });
  t.deepEqual(byId.json.explanations[0], two.json.explanations[0]);

  assertError(t, await explain(s.url, { texts: POSTS }), 400, 'invalid_request', 'texts', 'at most 2');
  assertError(
    t,
    await explain(s.url, { text: '好', label: '中性' }),
    400,
    'invalid_request',
    'label',
    '0 (负面), 1 (正面)'
  );
  assertError(t, await explain(s.url, { text: '好', label: 2 }), 400, 'invalid_request', 'label');
  assertError(t, await explain(s.url, { text: '好', steps: 0 }), 400, 'invalid_request', 'steps');
  assertError(t, await explain(s.url, { text: '好', model: 'other' }), 404, 'unknown_model', 'model');
  const openapi = await (await fetch(`${s.url}/openapi.json`)).json();
  t.truthy(openapi.paths['/v1/explain'].post);
  await s.stop();
});

test('a request computing past the time budget is answered 503 over_time_budget, and the server goes on', async (t) => {
  const s = await spawnServe(['--checkpoint', await run, '--explain-budget-ms', '1'], { cwd: WORK, env: ENV });
  const r = await explain(s.url, { texts: [POSTS[0], POSTS[2]], steps: 256 });
  assertError(t, r, 503, 'over_time_budget', undefined, 'time budget of 1 ms');
  t.truthy(r.headers.get('retry-after'));
  const p = await predict(s.url, { text: POSTS[0] });
  t.is(p.status, 200, p.text);
  await s.stop();
});
