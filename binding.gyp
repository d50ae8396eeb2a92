# node-gyp build of the same addon as CMakeLists.txt (the primary build: `npm run build:native`, cmake-js), from the
# same source lists (csrc/sources.json) and the same libtorch (scripts/find-libtorch.js: $LIBTORCH, Python torch, the
# system's), with its C++ ABI flag and its CUDA libraries when present. node-gyp always writes ./build, which the
# cmake-js build owns: scripts/check-gyp-build.sh runs it in a scratch copy.
{
  "targets": [
    {
      "target_name": "qwen3_native",
      "sources": [
        "<!@(node -p \"const s = require('./csrc/sources.json'); s.core.concat(s.binding).join(' ')\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/find-libtorch.js --include)"
      ],
      "libraries": [
        "-L<!(node scripts/find-libtorch.js --lib)",
        "-Wl,-rpath,<!(node scripts/find-libtorch.js --lib)",
        "<!@(node scripts/find-libtorch.js --libs)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++1y", "-std=gnu++14", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O3", "<!@(node scripts/find-libtorch.js --cflags)"]
    }
  ]
}
