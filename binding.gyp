# node-gyp fallback build (the primary build is CMakeLists.txt via cmake-js: `npm run build:native`).
# libtorch is located by scripts/find-libtorch.js in the same order: $LIBTORCH, Python torch, the system's.
{
  "targets": [
    {
      "target_name": "qwen3_native",
      "sources": [
        "csrc/binding/addon.cpp",
        "csrc/core/json.cpp",
        "csrc/core/safetensors.cpp",
        "csrc/core/linear.cpp",
        "csrc/core/qwen3.cpp",
        "csrc/core/runtime.cpp",
        "csrc/core/engine.cpp",
        "csrc/core/device.cpp",
        "csrc/core/lora.cpp",
        "csrc/core/adamw.cpp",
        "csrc/core/classifier.cpp",
        "csrc/core/prompt_cache.cpp",
        "csrc/binding/classifier_wrap.cpp"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/find-libtorch.js --include)"
      ],
      "libraries": [
        "-L<!(node scripts/find-libtorch.js --lib)",
        "-Wl,-rpath,<!(node scripts/find-libtorch.js --lib)",
        "-ltorch", "-ltorch_cpu", "-lc10"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++1y", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O3"]
    }
  ]
}
