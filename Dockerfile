# The Drone plugin (and a plain container for any CI): Node 20, git and the MariaDB
# client (mariadb-dump takes a torn-down site's final backup), with `aviary ci` as
# the entrypoint, which reads the step's PLUGIN_* settings.
#   docker build -t registry.example.com/aviary:0.1.0 .
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates openssh-client mariadb-client \
 && rm -rf /var/lib/apt/lists/* \
 # CI workspaces are often owned by another user than the container's.
 && git config --system --add safe.directory '*'
WORKDIR /opt/aviary
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/lib ./lib
RUN chmod +x lib/pipeline/cli.js && ln -s /opt/aviary/lib/pipeline/cli.js /usr/local/bin/aviary
ENV AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
# Drone runs a plugin in the workspace; `commands:` steps replace the entrypoint and can call `aviary` directly.
ENTRYPOINT ["node", "/opt/aviary/lib/pipeline/cli.js", "ci"]
