# syntax=docker/dockerfile:1
# Stage 1: resolve and install the pinned dependencies into a virtual environment with uv.
FROM python:3.11-slim AS build
RUN pip install --no-cache-dir uv==0.13.9
COPY pyproject.toml /src/pyproject.toml
RUN uv venv /opt/venv && uv pip install --python /opt/venv/bin/python --no-cache -r /src/pyproject.toml

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
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
ENTRYPOINT ["stanceline-entrypoint"]
CMD ["python", "-m", "app.cli", "serve", "--host", "0.0.0.0", "--port", "8000"]
