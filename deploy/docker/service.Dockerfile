# syntax=docker/dockerfile:1.7
# One image per pinrank app (CPU). Build from the repository root:
#   docker build -f deploy/docker/service.Dockerfile --build-arg APP=embedding-store -t pinrank/embedding-store:0.1.0 .
# APP is one of: feature-server, embedding-store, ranker (router and CPU workers), cli (batch jobs).
ARG NODE_IMAGE=node:20.20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV ONNXRUNTIME_NODE_INSTALL=skip NX_DAEMON=false NX_NO_CLOUD=true
COPY package.json package-lock.json .npmrc ./
COPY libs libs
COPY apps apps
COPY tools tools
COPY proto proto
COPY buf.gen.yaml nx.json tsconfig.base.json jest.preset.cjs eslint.config.mjs ./
RUN npm ci
ARG APP
RUN test -n "$APP" && npx nx run "${APP}:build" && npm prune --omit=dev

FROM ${NODE_IMAGE} AS runtime
ARG APP
ENV NODE_ENV=production APP=${APP}
WORKDIR /app
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY --from=build /src/package.json package.json
COPY --from=build /src/proto proto
COPY models models
# A numeric user and group, so the kubelet can verify runAsNonRoot (docs/deploy.md); the
# root filesystem is mounted read-only in Kubernetes, writable paths are volumes.
RUN groupadd --gid 10001 pinrank && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin pinrank
USER 10001:10001
# grpc.health.v1 is probed by Kubernetes directly (grpc probes); no shell health check needed.
ENTRYPOINT ["sh", "-c", "if [ \"$APP\" = cli ]; then exec node dist/tools/cli/cli.js \"$@\"; else exec node dist/apps/$APP/main.js \"$@\"; fi", "--"]
