const test = require('ava');
const fs = require('fs');
const path = require('path');
const { parseLabel } = require('../../dist/classifier/data');
const { loadLabelledFile, loadTextsFile } = require('../../dist');
const { stratifiedSplit, sliceSample } = require('../../dist/train/split');
const { tmpDir } = require('../helpers/util');

const root = tmpDir('qwen3-native-data-');
test.after.always(() => fs.rmSync(root, { recursive: true, force: true }));

let counter = 0;
function writeFile(name, content) {
  const file = path.join(root, `${counter++}-${name}`);
  fs.writeFileSync(file, content);
  return file;
}

test('text<TAB>label: label is the last field, blank lines skipped, header skipped', async (t) => {
  const file = writeFile('a.txt', 'text\tlabel\n好开心\t1\n\n  \n有\t制表符\t0\n太差了\t负面\nGreat\tpositive\n');
  const data = await loadLabelledFile(file);
  t.is(data.format, 'tsv');
  t.is(data.source, file);
  t.deepEqual(data.texts, ['好开心', '有\t制表符', '太差了', 'Great']);
  t.deepEqual(data.labels, [1, 0, 0, 1]);
  t.deepEqual(data.lineNumbers, [2, 5, 6, 7]);
});

test('BOM and CRLF are handled', async (t) => {
  const file = writeFile('bom.tsv', '\uFEFF第一条\t1\r\n第二条\t0\r\n');
  const data = await loadLabelledFile(file);
  t.deepEqual(data.texts, ['第一条', '第二条']);
  t.deepEqual(data.labels, [1, 0]);
});

test('CSV with weibo_senti_100k layout (label,review) and RFC 4180 quoting', async (t) => {
  const content =
    '\uFEFFlabel,review\r\n' +
    '1,"逗号,在里面"\r\n' +
    '0,"引号""在里面"""\r\n' +
    '1,"换行\r\n在里面"\r\n' +
    '0,简单\r\n' +
    '\r\n' +
    '1,"最后一行没有换行"';
  const data = await loadLabelledFile(writeFile('senti.csv', content));
  t.is(data.format, 'csv');
  t.deepEqual(data.texts, ['逗号,在里面', '引号"在里面"', '换行\n在里面', '简单', '最后一行没有换行']);
  t.deepEqual(data.labels, [1, 0, 1, 0, 1]);
  t.deepEqual(data.lineNumbers, [2, 3, 4, 6, 8]);
});

test('CSV with text,label header, extra columns, and an unquoted comma in the last column', async (t) => {
  const data = await loadLabelledFile(writeFile('b.csv', 'id,text,label\n7,hello,1\n8,"a,b",0\n'));
  t.deepEqual(data.texts, ['hello', 'a,b']);
  t.deepEqual(data.labels, [1, 0]);
  const lenient = await loadLabelledFile(writeFile('c.csv', 'label,review\n1,前半句,后半句\n'));
  t.deepEqual(lenient.texts, ['前半句,后半句']);
});

test('CSV header in a .txt file and a file without extension are detected', async (t) => {
  t.is((await loadLabelledFile(writeFile('d.txt', 'review,label\n好,1\n'))).format, 'csv');
  t.is((await loadLabelledFile(writeFile('noext', 'review,label\n好,1\n'))).format, 'csv');
  t.is((await loadLabelledFile(writeFile('noext2', '{"text":"好","label":1}\n'))).format, 'jsonl');
  t.is((await loadLabelledFile(writeFile('noext3', '好\t1\n'))).format, 'tsv');
  await t.throwsAsync(loadLabelledFile(writeFile('noext4', 'just words\n')), { message: /Cannot tell the format/ });
});

test('JSONL with numeric and string labels', async (t) => {
  const file = writeFile(
    'e.jsonl',
    '{"text": "好", "label": 1}\n\n{"text": "坏", "label": "0"}\r\n{"review": "中", "label": "正面"}\n'
  );
  const data = await loadLabelledFile(file);
  t.is(data.format, 'jsonl');
  t.deepEqual(data.texts, ['好', '坏', '中']);
  t.deepEqual(data.labels, [1, 0, 1]);
  t.deepEqual(data.lineNumbers, [1, 3, 4]);
});

test('parseLabel accepts the documented spellings only', (t) => {
  t.is(parseLabel(0), 0);
  t.is(parseLabel(1), 1);
  t.is(parseLabel(' 1 '), 1);
  t.is(parseLabel('正面'), 1);
  t.is(parseLabel('负面'), 0);
  t.is(parseLabel('Positive'), 1);
  t.is(parseLabel('NEGATIVE'), 0);
  for (const bad of [2, -1, '2', '', 'yes', true, null, undefined, 0.5, '1.0'])
    t.is(parseLabel(bad), undefined, String(bad));
});

test('every bad row is reported as file:line: reason in one error', async (t) => {
  const file = writeFile('bad.txt', '好\t1\n没有标签\n坏\t5\n\n\t1\n正常\t0\n');
  const error = await t.throwsAsync(loadLabelledFile(file));
  t.is(
    error.message,
    `${file}: 3 bad rows:\n` +
      `  ${file}:2: expected text<TAB>label but the line has no tab\n` +
      `  ${file}:3: label must be 0/1, 负面/正面 or negative/positive but is "5"\n` +
      `  ${file}:5: empty text`
  );
});

test('bad CSV and JSONL rows carry their line numbers', async (t) => {
  const csv = writeFile('bad.csv', 'text,label,source\n"ok",1,x\n"two\nlines",3,x\nshort\n"never closed,1,x\n');
  const csvError = await t.throwsAsync(loadLabelledFile(csv));
  t.regex(csvError.message, new RegExp(`${csv.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: label must be`));
  t.true(csvError.message.includes(`${csv}:5: expected 3 fields as in the header but found 1`));
  t.true(csvError.message.includes(`${csv}:6: quoted field is never closed`));
  const jsonl = writeFile('bad.jsonl', '{"text":"a","label":1}\n{oops}\n[1]\n{"label":1}\n{"text":"b"}\n');
  const jsonlError = await t.throwsAsync(loadLabelledFile(jsonl));
  t.true(jsonlError.message.startsWith(`${jsonl}: 4 bad rows:`));
  t.true(jsonlError.message.includes(`${jsonl}:2: invalid JSON`));
  t.true(jsonlError.message.includes(`${jsonl}:3: expected a JSON object`));
  t.true(jsonlError.message.includes(`${jsonl}:4: expected a string "text" field but found none`));
  t.true(jsonlError.message.includes(`${jsonl}:5: label must be 0/1, 负面/正面 or negative/positive but is missing`));
  await t.throwsAsync(loadLabelledFile(writeFile('nohead.csv', 'a,b\n1,2\n')), {
    message: /:1: CSV header must name review,label or text,label/,
  });
});

test('the list of bad rows is capped with a count of the rest', async (t) => {
  const lines = Array.from({ length: 30 }, (_, i) => `text ${i}\t9`).join('\n');
  const file = writeFile('many.txt', lines);
  const error = await t.throwsAsync(loadLabelledFile(file));
  t.true(error.message.startsWith(`${file}: 30 bad rows:`));
  t.true(error.message.includes(`${file}:20: label`));
  t.false(error.message.includes(`${file}:21: label`));
  t.true(error.message.endsWith('… and 10 more bad rows'));
});

test('missing and empty files', async (t) => {
  await t.throwsAsync(loadLabelledFile(path.join(root, 'nope.txt')), { message: /Data file not found: .*nope\.txt/ });
  await t.throwsAsync(loadLabelledFile(writeFile('empty.txt', '\n\n')), { message: /no labelled rows found/ });
  await t.throwsAsync(loadLabelledFile(''), { message: 'Expected non-empty string for file but received ""' });
});

test('loadTextsFile: plain lines, labelled lines, CSV and JSONL', async (t) => {
  const plain = await loadTextsFile(writeFile('p.txt', '第一条\r\n\r\n第二条\t带制表符\n'));
  t.is(plain.format, 'lines');
  t.deepEqual(plain.texts, ['第一条', '第二条\t带制表符']);
  t.deepEqual(plain.lineNumbers, [1, 3]);
  const labelled = await loadTextsFile(writeFile('l.txt', '好\t1\n坏\t0\n'));
  t.is(labelled.format, 'tsv');
  t.deepEqual(labelled.texts, ['好', '坏']);
  const csv = await loadTextsFile(writeFile('t.csv', 'id,review\n1,"a,b"\n'));
  t.deepEqual(csv.texts, ['a,b']);
  const jsonl = await loadTextsFile(writeFile('t.jsonl', '{"text":"x"}\n{"text":"y","label":"whatever"}\n'));
  t.deepEqual(jsonl.texts, ['x', 'y']);
});

test('loadTextsFile reads the weibo2018 file as labelled lines', async (t) => {
  const file = path.resolve(__dirname, '../../../shared/data/weibo2018/train.txt');
  const texts = await loadTextsFile(file);
  const labelled = await loadLabelledFile(file);
  t.is(texts.format, 'tsv');
  t.deepEqual(texts.texts, labelled.texts);
  t.is(labelled.texts.length, 10000);
  t.is(labelled.labels.filter((label) => label === 1).length, 5496);
});

test('stratifiedSplit keeps class proportions, covers every index once, and is deterministic', (t) => {
  const labels = [...Array(600).fill(1), ...Array(400).fill(0)];
  const { train, dev } = stratifiedSplit(labels, 0.1, 7);
  t.is(dev.length, 100);
  t.is(dev.filter((i) => labels[i] === 1).length, 60);
  t.is(dev.filter((i) => labels[i] === 0).length, 40);
  t.deepEqual(
    [...train, ...dev].sort((a, b) => a - b),
    labels.map((_, i) => i)
  );
  t.deepEqual(
    dev,
    [...dev].sort((a, b) => a - b)
  );
  t.deepEqual(stratifiedSplit(labels, 0.1, 7), { train, dev });
  t.notDeepEqual(stratifiedSplit(labels, 0.1, 8).dev, dev);
});

test('stratifiedSplit puts each class with two or more rows on both sides', (t) => {
  const { train, dev } = stratifiedSplit([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2], 0.05, 1);
  t.deepEqual(
    dev.map((i) => [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2][i]),
    [0, 1]
  );
  t.is(train.length, 11);
});

test('stratifiedSplit validates its arguments', (t) => {
  t.throws(() => stratifiedSplit([0, 1], 1, 0), {
    instanceOf: RangeError,
    message: 'Expected number greater than 0 and less than 1 for devFraction but received 1',
  });
  t.throws(() => stratifiedSplit([0, 1], '0.1', 0), { instanceOf: TypeError });
  t.throws(() => stratifiedSplit([0, -1], 0.5, 0), {
    message: 'Expected non-negative integer for labels[1] but received -1',
  });
  t.throws(() => stratifiedSplit([0, 1], 0.5, -3), {
    message: 'Expected non-negative integer for seed but received -3',
  });
  t.throws(() => stratifiedSplit('01', 0.5, 0), { message: 'Expected array for labels but received "01"' });
});

test('sliceSample: stratified, ordered, deterministic, slices every parallel array', (t) => {
  const count = 1000;
  const data = {
    texts: Array.from({ length: count }, (_, i) => `t${i}`),
    labels: Array.from({ length: count }, (_, i) => (i % 10 < 7 ? 1 : 0)),
    lineNumbers: Array.from({ length: count }, (_, i) => i + 1),
    source: 'x.txt',
  };
  const sample = sliceSample(data, 100, 3);
  t.is(sample.texts.length, 100);
  t.is(sample.labels.filter((label) => label === 1).length, 70);
  t.is(sample.source, 'x.txt');
  t.deepEqual(
    sample.texts,
    sample.lineNumbers.map((line) => `t${line - 1}`)
  );
  t.deepEqual(
    sample.labels,
    sample.lineNumbers.map((line) => data.labels[line - 1])
  );
  t.deepEqual(
    sample.lineNumbers,
    [...sample.lineNumbers].sort((a, b) => a - b)
  );
  t.deepEqual(sliceSample(data, 100, 3), sample);
  t.notDeepEqual(sliceSample(data, 100, 4).texts, sample.texts);
  const all = sliceSample(data, 5000, 3);
  t.deepEqual(all, data);
  t.not(all.texts, data.texts);
  const unlabelled = sliceSample({ texts: data.texts }, 10, 1);
  t.is(unlabelled.texts.length, 10);
  t.throws(() => sliceSample(data, 0, 1), { message: 'Expected positive integer for maxSamples but received 0' });
  t.throws(() => sliceSample({ texts: ['a'], labels: [1, 0] }, 1, 1), { message: /array of 1 labels/ });
});
