# Production image: mirrors `make run` (install from the lock file, compile catalogs, migrate, run).
# Settings come from the environment.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 VOICES_ENV=production VOICES_DATA_DIR=/data \
    VOICES_DASHBOARD_HOST=0.0.0.0
WORKDIR /app

# Pango and fonts for the PDF reports (WeasyPrint).
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Exact versions with checked hashes, the same as `make run` and `make test` install.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY consultations ./consultations
COPY dashboard ./dashboard
COPY flows ./flows
COPY storage ./storage
COPY summaries ./summaries
COPY config ./config
COPY locales ./locales
RUN pybabel compile -d locales -D messages \
    && useradd --system --uid 10001 --home /app voices && mkdir -p /data && chown voices /data

USER voices
VOLUME ["/data"]
# 8443: the webhook (and the dashboard with --webhook); 8080: the dashboard when polling. Publish them only
# through your HTTPS reverse proxy.
EXPOSE 8443 8080
# Migrate, then run (long polling; add --webhook and the VOICES_WEBHOOK_* settings for a webhook).
CMD ["sh", "-c", "python -m bot db upgrade && exec python -m bot run"]
