#!/usr/bin/env bash
# GitHub runners have no ../shared (the project's machines do): rebuild ../shared/data/weibo2018/train.txt, which the
# tests read, from its public source the way shared/README.md describes it (github.com/dengxiuqi/weibo2018, its
# `id,label,text` lines; the id dropped, tabs in the text replaced by spaces, written as text<TAB>label), and check it
# is the same corpus: 10,000 posts, 5,496 positive, 4,504 negative.
set -euo pipefail
OUT="$(cd "$(dirname "$0")/../.." && pwd)/shared/data/weibo2018"
mkdir -p "$OUT"
if [ -s "$OUT/train.txt" ]; then echo "fetch-shared-data: $OUT/train.txt exists"; exit 0; fi
curl -fsSL --retry 3 https://raw.githubusercontent.com/dengxiuqi/weibo2018/master/train.txt -o /tmp/weibo2018-train.txt
node - /tmp/weibo2018-train.txt "$OUT/train.txt" <<'JS'
const fs = require('fs');
const [src, dst] = process.argv.slice(2);
const rows = [];
for (const line of fs.readFileSync(src, 'utf8').split(/\r?\n/)) {
  const m = /^(\d+),([01]),(.*)$/.exec(line);
  if (m) rows.push(`${m[3].replace(/\t/g, ' ')}\t${m[2]}`);
}
const pos = rows.filter((r) => r.endsWith('\t1')).length;
if (rows.length !== 10000 || pos !== 5496) {
  console.error(`fetch-shared-data: expected 10,000 posts (5,496 positive), got ${rows.length} (${pos})`);
  process.exit(1);
}
fs.writeFileSync(dst, rows.join('\n') + '\n');
console.log(`fetch-shared-data: wrote ${rows.length} posts to ${dst}`);
JS
