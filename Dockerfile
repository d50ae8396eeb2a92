# qwen3-native's HTTP service on Debian 12: Node 20 (the official node image, Debian 12 based), Debian's libtorch 1.13
# with OpenMP OpenBLAS (without it fp32 matmuls run ~13x slower), and the package from a tarball, so the prebuilt
# torch-1.13-cxx11abi1-debian addon runs and nothing compiles. Untested: docs/serving.md#docker says how to build it.
#
#   bash scripts/check-package.sh .      (with prebuilds/ made by scripts/prebuild.sh: the tarball the image installs)
#   docker build -t qwen3-native .
#   docker run --rm -p 8080:8080 -e QWEN3_NATIVE_API_KEY=... -v "$PWD/models:/models" qwen3-native --load-all
FROM node:20-bookworm-slim

RUN apt-get update \
  && apt-get install -y --no-install-recommends libtorch1.13 libopenblas0-openmp \
  && rm -rf /var/lib/apt/lists/*

COPY qwen3-native-*.tgz /tmp/
RUN npm install --global --no-audit --no-fund /tmp/qwen3-native-*.tgz && rm /tmp/qwen3-native-*.tgz \
  && qwen3-native info

# Trained runs are mounted at /models; a key is required off loopback (QWEN3_NATIVE_API_KEY, given at `docker run`).
WORKDIR /models
USER node
EXPOSE 8080
ENTRYPOINT ["qwen3-native", "serve", "--host", "0.0.0.0", "--port", "8080", "--models-dir", "/models"]
CMD ["--load-all"]
