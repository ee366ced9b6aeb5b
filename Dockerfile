# keyguard's image: every command (worker, webhooks, market-feed, collect, replay, …) from the
# compiled dist/, production dependencies only, as the unprivileged `node` user.
#   docker build -t keyguard .   then   docker run keyguard replay --help
# The base image is pinned; bump it deliberately.

FROM node:20.18.1-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-lua.mjs scripts/copy-lua.mjs
COPY src src
RUN npm run build

FROM node:20.18.1-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist dist
COPY bin bin
COPY config config
COPY schemas schemas
USER node
# /metrics, /healthz, /readyz (KEYGUARD_METRICS_PORT; the dispatcher and the market feed use their own).
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.KEYGUARD_METRICS_PORT || 9464}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/keyguard.js"]
CMD ["worker"]
