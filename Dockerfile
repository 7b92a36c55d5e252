# Sluice in a container, on the official Deno image from Docker Hub (denoland/deno).
# Not built or run in Sluice's own CI (no container runtime there): see docs/deploy/container.md.
#
#   docker build -t sluice .
#   docker run -d --name sluice -p 8000:8000 -v sluice-data:/data --stop-timeout 40 \
#     -e SLUICE_SECRET=… -e SLUICE_ROOT_TOKEN=… sluice
#   docker exec sluice deno task sluice workspace list
ARG DENO_VERSION=2.9.6
FROM denoland/deno:${DENO_VERSION}

# Everything below runs as the image's unprivileged "deno" user, which owns the app, the
# dependency cache (DENO_DIR=/deno-dir) and the KV volume.
WORKDIR /app
RUN chown deno:deno /app && mkdir -p /data && chown deno:deno /data
USER deno

# npm dependencies first, as their own layer: fetched again only when deno.json or deno.lock
# change, and only as deno.lock pins them.
COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install --frozen-lockfile
COPY --chown=deno:deno . .
RUN deno cache --frozen-lockfile main.ts cli.ts \
  && deno task build

VOLUME ["/data"]
ENV SLUICE_KV=/data/sluice.kv \
    HOSTNAME=0.0.0.0 \
    PORT=8000
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["deno", "eval", "const r = await fetch('http://127.0.0.1:8000/healthz'); Deno.exit(r.ok ? 0 : 1)"]

# The image's entrypoint (tini, then deno for a deno subcommand such as "run") forwards
# SIGTERM, on which Sluice stops gracefully within its 30 s grace: give docker stop 40 s.
# --cached-only: nothing is fetched at start. deno.json in /app enables KV and cron.
CMD ["run", "-A", "--cached-only", "main.ts"]
