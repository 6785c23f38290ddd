# The Drone plugin (and a plain container for any CI): Node 24 (the current LTS), git and the MariaDB
# client (mariadb-dump takes a torn-down site's final backup), with `aviary ci` as
# the entrypoint, which reads the step's PLUGIN_* settings.
#   docker build -t registry.example.com/aviary:0.1.0 .
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No scripts yet (prepare builds, and src/ is not here); no optional packages
# (cdk8s-plus-27's optional backport is 39 MB that nothing at run time uses).
RUN npm ci --no-audit --no-fund --ignore-scripts --omit=optional
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --omit=optional

FROM node:24-bookworm-slim
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
# Drone runs a plugin in the workspace; `commands:` steps replace the entrypoint and can call `aviary` directly.
ENTRYPOINT ["node", "/opt/aviary/lib/pipeline/cli.js", "ci"]
