# One image for every triage process.
#   web / mailer / beat:  docker build -t triage .
#   worker (CPU torch):   docker build --build-arg EXTRAS=worker -t triage-worker .
#   worker (CUDA torch):  docker build --build-arg EXTRAS=worker \
#                           --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 -t triage-worker .
# docker-compose.yml passes these build args for you.
FROM python:3.11-slim

# EXTRAS: optional-dependency group(s) of pyproject.toml ("" for web, "worker" for the GPU worker).
ARG EXTRAS=""
# TORCH_INDEX_URL: when set, torch comes from this index (a CUDA build) before the project is installed.
ARG TORCH_INDEX_URL=""

# PYTHONPATH=/app: import triage/ and workers/ from the source tree in /app, not the copy `pip install .`
# puts in site-packages, so settings.BASE_DIR is /app (templates/, var/). The install is for the dependencies.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=triage.settings \
    PYTHONPATH=/app \
    TRIAGE_VAR_DIR=/app/var

RUN groupadd --gid 1000 app \
 && useradd --uid 1000 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

WORKDIR /app

# Own layer, before the source is copied: code changes do not re-download torch. pip later sees
# torch==2.13.0 satisfied (2.13.0+cu128 matches it) and keeps this build.
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
        pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0; \
    fi

COPY . /app

# gunicorn is not a project dependency (yet): the image pins it here.
# ".${EXTRAS:+[$EXTRAS]}" is "." or ".[worker]".
RUN pip install gunicorn==27.0.1 ".${EXTRAS:+[$EXTRAS]}" \
 && rm -rf /app/build /app/*.egg-info \
 && mkdir -p /app/var/static /app/var/media /home/app/.cache/huggingface \
 && chown app:app /app \
 && chown -R app:app /app/var /home/app

USER app

EXPOSE 8000

# collectstatic needs the runtime settings env; the compose web command runs migrate + collectstatic.
CMD ["gunicorn", "triage.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
