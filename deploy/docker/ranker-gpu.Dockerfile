# syntax=docker/dockerfile:1.7
# The GPU-role ranker worker. onnxruntime-node's CUDA execution provider needs
# its CUDA 12 libraries, installed at build time (ONNXRUNTIME_NODE_INSTALL=cuda12);
# WebGPU (through Vulkan) and CPU stay available as fallbacks in the configured order.
# Build from the repository root:
#   docker build -f deploy/docker/ranker-gpu.Dockerfile -t pinrank/ranker-gpu:0.1.0 .
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
ARG NODE_IMAGE=node:20.20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV ONNXRUNTIME_NODE_INSTALL=cuda12 NX_DAEMON=false NX_NO_CLOUD=true
COPY package.json package-lock.json .npmrc ./
COPY libs libs
COPY apps apps
COPY tools tools
COPY proto proto
COPY buf.gen.yaml nx.json tsconfig.base.json jest.preset.cjs eslint.config.mjs ./
# package.json denies onnxruntime-node's install script (allowScripts) so that a plain `npm ci` never
# downloads CUDA; here it runs on purpose, after the install, whatever npm version builds the image.
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci && node node_modules/onnxruntime-node/script/install.js
RUN npx nx run ranker:build && npm prune --omit=dev

FROM ${CUDA_IMAGE} AS runtime
# Vulkan and EGL loaders for the WebGPU execution provider; the NVIDIA ICD comes from the driver via the container toolkit.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvulkan1 libegl1 libgl1 libgles2 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/node /usr/local/bin/node
ENV NODE_ENV=production \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics \
    RANKER_ROLE=gpu
WORKDIR /app
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY --from=build /src/package.json package.json
COPY --from=build /src/proto proto
COPY models models
# A numeric user and group, so the kubelet can verify runAsNonRoot (docs/deploy.md).
RUN groupadd --gid 10001 pinrank && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin pinrank
USER 10001:10001
ENTRYPOINT ["node", "dist/apps/ranker/main.js"]
