# An image serving a WSGI app with corral and nothing in front: static files,
# compression, JSON access log on stdout and Prometheus metrics come from the
# server.  The app here is the demo blog (examples/blog); for your own app, copy
# it instead and change APP below.
#
#   docker build -t corral-blog .
#   docker run --rm -p 8000:8000 -p 9100:9100 corral-blog
#
# $PORT (default 8000) is where the app listens; WEB_CONCURRENCY is the number of
# workers (Gunicorn's variable); behind a proxy or an ingress that sets
# X-Forwarded-*, FORWARDED_ALLOW_IPS names the addresses to trust.  corral's heartbeats live in anonymous shared
# memory, not in files, so no --worker-tmp-dir is needed for a slow overlay disk.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000 \
    METRICS_PORT=9100 \
    WEB_CONCURRENCY=2 \
    GRACEFUL_TIMEOUT=25

WORKDIR /srv

# the server (and the optional metrics and Brotli support), a layer of its own
COPY pyproject.toml README.md ./
COPY src ./src
# (the package installed is this checkout: there is no version to pin)
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[metrics,brotli]"

# the application, owned by root: the server's account can read it, not change it
COPY examples/blog ./app
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /srv corral \
    && mkdir -p /srv/app/instance \
    && chown corral:corral /srv/app/instance

USER 10001
EXPOSE 8000 9100
STOPSIGNAL SIGTERM

# run.py creates the blog's database on first start, then execs the server
CMD ["sh", "-c", "exec env BLOG_BIND=\"0.0.0.0:${PORT}\" python app/run.py --metrics-bind \"0.0.0.0:${METRICS_PORT}\" --static-map /static=/srv/app/corralblog/static --static-max-age 3600 --compress --access-log-json --graceful-timeout \"${GRACEFUL_TIMEOUT}\""]
