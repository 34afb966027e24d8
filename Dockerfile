# Labkeeper image: one image for both roles.
#   API + in-process worker (default):  docker run --init … labkeeper     (node server/dist/main.js)
#   worker only:                        docker run --init … labkeeper node server/dist/worker.js
# (--init: a small PID 1 that reaps the git processes jobs spawn; docker-compose.yml sets init: true)
# Configuration is the environment only; see .env.example. docker-compose.yml shows a full setup.
# Without DATABASE_URL the API runs its embedded PostgreSQL under /data (single-container mode):
#   docker run --init -p 4000:4000 -v labkeeper-data:/data labkeeper
FROM node:20-bookworm-slim

# git runs every mirror, fetch and bundle; git-lfs fetches LFS objects. ca-certificates lets git
# reach https GitLab instances. (Only the package is installed: no global `git lfs install`, so
# Labkeeper decides where the LFS filters apply.)
RUN apt-get update \
 && apt-get install -y --no-install-recommends git git-lfs ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# The lockfile and the install-script policy (package.json "allowScripts" with
# strict-allow-scripts in .npmrc) were made with npm 11; the base image ships npm 10, which
# ignores that policy. Use the npm the project is verified with.
RUN npm install -g npm@11.19.1 --no-audit --no-fund && npm --version

WORKDIR /app

# Dependencies first, so that a source change does not re-install them. Dev dependencies are
# needed to build (tsc, Vite); they are removed once the build is done.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund && npm cache clean --force

COPY . .

# Build when the image is built, never at start: the web client (Vite → client/dist) and the server
# compiled to JavaScript (tsc → server/dist). The container then runs plain JavaScript as the
# unprivileged user in this root-owned /app, writing only to /data. The compiled server imports
# production dependencies only (test/api/image-start.test.ts checks it), so the dev ones go.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && npm cache clean --force

# Set after `npm ci` (with NODE_ENV=production npm would skip the dev dependencies above).
# In production mode the API hides the details of unexpected errors.
ENV NODE_ENV=production \
    PORT=4000 \
    LABKEEPER_DATA_DIR=/data

# Run as the unprivileged `node` user; /data holds the data directory (mount a volume there).
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]

EXPOSE 4000

# /readyz answers 200 once the database and the job store respond. Worker containers serve no
# HTTP: docker-compose.yml turns this check off for them.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Compiled JavaScript straight from node (no npm in between: one process, signals go to it). The
# image-start test runs this command as a non-root user over a root-owned copy of the tree.
CMD ["node", "server/dist/main.js"]
