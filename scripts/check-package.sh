#!/usr/bin/env bash
# Packs the npm tarball and checks it as a user receives it (run by .ci/run and the prebuild workflow):
#   - contents: what ships (dist, prebuilt addons, the Qwen3 tokenizer, the build recipe, LICENSE) and what never does
#     (tests, bench, the Python reference, the setup script, build trees);
#   - publint and @arethetypeswrong/cli on the tarball;
#   - the type declarations compile for a TypeScript user without @types/node (skipLibCheck false), and Trainer
#     events are typed: `trainer.on('progress', p => p.noSuchField)` must not compile;
#   - test/types/conventions.ts (`await using`, AbortSignal, the union predict, predictStream) compiles without
#     @types/node (the DOM library's AbortController) and with it, and test/types/node-events.ts (events.on/once on a
#     Trainer) with it.
#
#   bash scripts/check-package.sh [OUT_DIR]    leaves qwen3-native-<version>.tgz in OUT_DIR (default: the repo root)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$(cd "${1:-.}" && pwd)
say() { echo "check-package: $*"; }
die() { echo "check-package: FAILED: $*" >&2; exit 1; }

[ -f dist/index.d.ts ] || die "dist/ is not built (npm run build:ts)"
rm -f "$OUT"/qwen3-native-*.tgz
PACK_JSON=$(npm pack --json --pack-destination "$OUT" 2>/dev/null)
TGZ="$OUT/$(node -e 'console.log(JSON.parse(process.argv[1])[0].filename)' "$PACK_JSON")"
[ -f "$TGZ" ] || die "npm pack made no tarball"

# Contents.
node - "$PACK_JSON" <<'EOF' || exit 1
const [{ files, size, unpackedSize, filename }] = JSON.parse(process.argv[2]);
const paths = files.map((f) => f.path);
const problems = [];
const forbidden = [/^test\//, /^bench\//, /^scripts\/reference\//, /\.py$/, /^scripts\/setup\.sh$/, /^scripts\/(debian-root|check-[a-z]+|prebuild)\.sh$/, /^build\//, /^\.ci\//, /^\.github\//, /^examples\//, /^node_modules\//, /\.tgz$/];
for (const p of paths) for (const re of forbidden) if (re.test(p)) problems.push(`ships ${p} (matches ${re})`);
const required = ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/native-loader.js',
  'assets/qwen3-tokenizer/tokenizer.json', 'assets/qwen3-tokenizer/tokenizer_config.json', 'scripts/find-libtorch.js',
  'scripts/build-native.js', 'CMakeLists.txt', 'data/weibo_sample.txt'];
for (const r of required) if (!paths.includes(r)) problems.push(`does not ship ${r}`);
if (!paths.some((p) => p.startsWith('csrc/'))) problems.push('does not ship csrc/ (npx qwen3-native build needs it)');
const addons = paths.filter((p) => /^prebuilds\/[^/]+\/prebuilds\/linux-x64\/qwen3_native\.node$/.test(p));
for (const a of addons) if (!paths.includes(a.replace(/\.node$/, '.json'))) problems.push(`${a} has no .json beside it`);
const fs = require('fs');
for (const v of fs.existsSync('prebuilds') ? fs.readdirSync('prebuilds') : []) {
  if (!addons.some((a) => a.startsWith(`prebuilds/${v}/`))) problems.push(`prebuilds/${v} was built but is not in the tarball`);
}
if (problems.length) {
  console.error(`check-package: FAILED: ${filename}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`check-package: ${filename}: ${files.length} files, ${(size / 1e6).toFixed(1)} MB packed, ${(unpackedSize / 1e6).toFixed(1)} MB unpacked; prebuilt addons: ${addons.map((a) => a.split('/')[1]).join(', ') || 'none'}`);
EOF

say "publint"
"$ROOT/node_modules/.bin/publint" run "$TGZ" --strict
say "@arethetypeswrong/cli"
"$ROOT/node_modules/.bin/attw" "$TGZ" --format table-flipped --no-color

# A TypeScript user with nothing but `typescript` (no @types/node), strict, checking every declaration file.
say "type declarations without @types/node"
APP=$(mktemp -d /tmp/qwen3-native-types.XXXXXX)
trap 'rm -rf "$APP"' EXIT
TS_VERSION=$(node -p "require('$ROOT/node_modules/typescript/package.json').version")
(cd "$APP" && echo '{"private":true}' >package.json &&
  npm install --no-audit --no-fund --ignore-scripts --loglevel=error "$TGZ" "typescript@$TS_VERSION" >/dev/null)
[ ! -e "$APP/node_modules/@types/node" ] || die "@types/node got installed with the package; the check would prove nothing"
cat >"$APP/tsconfig.json" <<'EOF'
{ "compilerOptions": { "strict": true, "skipLibCheck": false, "noEmit": true, "module": "node16", "moduleResolution": "node16",
  "target": "ES2022", "lib": ["ES2022"], "types": [] }, "files": ["consumer.ts"] }
EOF
cat >"$APP/consumer.ts" <<'EOF'
import { Trainer, Predictor, Qwen3Model, createTinyQwen3, runtimeInfo, computeMetrics, type ProgressEvent, type Prediction } from 'qwen3-native';
const trainer = new Trainer({ method: 'lora', model: 'tiny', epochs: 1 });
trainer.on('progress', (p: ProgressEvent) => p.loss.toFixed(3));
trainer.once('eval', (e) => e.metrics.accuracy);
trainer.off('log', (line: string) => line.length);
export async function main(): Promise<number> {
  await trainer.train('data.txt');
  const predictor = new Predictor({ checkpoint: 'models/qwen3_lora_tiny' });
  const r: Prediction = await predictor.predict('今天天气真好');
  await createTinyQwen3('/tmp/tiny', { kind: 'causal', seed: 0, dtype: 'float32' });
  const model = await Qwen3Model.load('/tmp/tiny');
  model.dispose();
  return r.label + computeMetrics([1], [1]).accuracy + (runtimeInfo().cudaAvailable ? 1 : 0);
}
EOF
(cd "$APP" && node node_modules/typescript/bin/tsc -p .) || die "the declarations do not compile for a user without @types/node"
cat >>"$APP/consumer.ts" <<'EOF'
trainer.on('progress', (p) => p.noSuchField);
EOF
if out=$(cd "$APP" && node node_modules/typescript/bin/tsc -p . 2>&1); then
  die "trainer.on('progress', p => p.noSuchField) compiled: Trainer events are not typed"
fi
grep -q "TS2339: Property 'noSuchField' does not exist on type 'ProgressEvent'" <<<"$out" || die "unexpected compile errors: $out"

say "Node conventions in the declarations (await using, AbortSignal, events.on/once), without and with @types/node"
cp "$ROOT/test/types/conventions.ts" "$ROOT/test/types/node-events.ts" "$APP/"
conventions() { # <types> <lib> <files...>
  local types=$1 lib=$2
  shift 2
  node -e 'const [types, lib, ...files] = process.argv.slice(1); console.log(JSON.stringify({ compilerOptions: {
    strict: true, skipLibCheck: false, noEmit: true, module: "node16", moduleResolution: "node16", target: "ES2022",
    lib: lib.split(","), types: types ? types.split(",") : [] }, files }))' "$types" "$lib" "$@" >"$APP/tsconfig.json"
  (cd "$APP" && node node_modules/typescript/bin/tsc -p .)
}
conventions "" ES2022,DOM conventions.ts || die "test/types/conventions.ts does not compile without @types/node"
TYPES_NODE=$(node -p "require('$ROOT/node_modules/@types/node/package.json').version")
(cd "$APP" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error "@types/node@$TYPES_NODE" >/dev/null)
conventions node ES2022 conventions.ts node-events.ts || die "test/types/*.ts do not compile with @types/node"
say "ok: $TGZ"
