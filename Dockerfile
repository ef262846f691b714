# One image for every triage process.
#   web / mailer / beat:  docker build -t triage-web .
#   worker (CPU torch):   docker build --build-arg EXTRAS=worker \
#                           --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu -t triage-worker-cpu .
#   worker (CUDA torch):  docker build --build-arg EXTRAS=worker \
#                           --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 -t triage-worker .
# docker-compose.yml passes these build args for you.
#
# The image is production by default (TRIAGE_ENV=production): it refuses to start
# without SECRET_KEY and DJANGO_ALLOWED_HOSTS, and never shows a traceback.
# Development settings are opt-in (TRIAGE_ENV=development).
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
    TRIAGE_ENV=production \
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

# ".${EXTRAS:+[$EXTRAS]}" is "." or ".[worker]".
RUN pip install ".${EXTRAS:+[$EXTRAS]}" \
 && rm -rf /app/build /app/*.egg-info \
 && mkdir -p /app/var/static /app/var/media /home/app/.cache/huggingface \
 && chown app:app /app \
 && chown -R app:app /app/var /home/app

USER app

# Static files belong to the code: collected (hashed names, gzip copies) into the image, so the
# web container serves them itself (WhiteNoise) and an upgrade swaps them atomically with the code.
# collectstatic signs nothing: the throwaway key only satisfies the production settings' checks.
RUN SECRET_KEY="collectstatic-only-$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    DJANGO_ALLOWED_HOSTS=build.invalid \
    python manage.py collectstatic --noinput

EXPOSE 8000

# gunicorn's workers, threads and bind come from the environment (triage/gunicorn.py, .env.example).
CMD ["gunicorn", "-c", "python:triage.gunicorn", "triage.wsgi:application"]
