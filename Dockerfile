# The hub as one image: `docker build -t hub .`, then run it with HUB_* settings
# (docker-compose.yml runs it with PostgreSQL and Redis).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY widget ./widget
RUN pip install . \
    && useradd --system --uid 10001 --user-group --home-dir /data --create-home hub

# The working folder holds the SQLite file and the generated secret key when no database URL
# or HUB_SECRET_KEY is given; mount a volume on /data to keep them.
WORKDIR /data
USER hub

ENV HUB_HOST=0.0.0.0 \
    HUB_PORT=8080 \
    HUB_WIDGET_DIR=/app/widget
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('HUB_PORT', '8080'), timeout=4)"]

# Exec form: SIGTERM reaches the hub, which closes operator sockets with 1001 and stops cleanly.
CMD ["python", "-m", "hub", "serve"]
