# Production image: PostgreSQL and Redis are given by environment
# (OMS_DATABASE_URL, OMS_REDIS_URL, OMS_ADMIN_TOKEN).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    OMS_VAR_DIR=/app/var

WORKDIR /app
# Invoice PDFs are set in a font that covers Chinese, Japanese and Korean names.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 oms
COPY pyproject.toml README.md ./
COPY api ./api
COPY domain ./domain
COPY integrations ./integrations
RUN pip install . && mkdir -p /app/var && chown oms:oms /app/var

USER oms
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"

# Apply migrations, then serve. Scale with --workers (PostgreSQL only).
CMD ["sh", "-c", "oms migrate && exec oms serve --host 0.0.0.0 --port 8000 --workers ${OMS_WORKERS:-2}"]
