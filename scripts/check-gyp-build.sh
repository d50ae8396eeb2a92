#!/usr/bin/env bash
# Builds the addon with node-gyp (binding.gyp) in a scratch copy of the tree and loads it: the fallback build stays
# the same addon as the cmake-js one. node-gyp always writes ./build, which the cmake-js build owns, so it runs
# elsewhere (the scratch folder links csrc/, scripts/ and node_modules/ back here). Headers come from the local Node
# install when it ships them (Debian/NodeSource: <prefix>/include/node), so no download is needed.
#   scripts/check-gyp-build.sh [scratch-folder]     (default: a new temporary folder, removed afterwards)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${1:-}"
if [[ -z "$scratch" ]]; then
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
fi
mkdir -p "$scratch"
for f in binding.gyp package.json csrc scripts node_modules; do ln -sfn "$root/$f" "$scratch/$f"; done

node_gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
[[ -f "$node_gyp" ]] || node_gyp="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
args=()
if [[ -f "$prefix/include/node/node_version.h" ]]; then args+=(--nodedir="$prefix"); fi

cd "$scratch"
node "$node_gyp" rebuild "${args[@]}" --jobs="$(nproc)" >&2
node -e "
  const b = require('$scratch/build/Release/qwen3_native.node');
  const names = Object.keys(b).sort().join(',');
  if (names !== 'Classifier,Engine,runtimeInfo,setNumThreads') throw new Error('exports: ' + names);
  const e = new b.Engine();
  e.load({ files: ['$root/test/fixtures/models/tiny-tied-f32/model.safetensors'],
    config: { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4, head_dim: 8,
      intermediate_size: 64, rms_norm_eps: 1e-6, rope_theta: 1e6, tie_word_embeddings: true },
    device: 'cpu', dtype: 'float32', mapEmbeddings: 'auto' })
    .then(() => e.lastTokenLogits(Int32Array.from([1, 2, 3]), Int32Array.from([3]), true))
    .then((l) => { console.log('node-gyp build loads: libtorch ' + b.runtimeInfo().libtorchVersion + ', ' + l.length + ' logits'); e.dispose(); })
    .catch((err) => { console.error(err); process.exit(1); });
"
