"""docker-compose.yml and .env.example, checked without Docker (no engine here).

- The compose file validates against the Compose Specification's JSON schema
  (tests/deploy/compose-spec.json, shipped with its licence note).
- Every variable the settings (and gunicorn's config, and the worker's device
  selection) read is documented in .env.example, every `${VAR}` compose
  interpolates too, and every app container gets .env through env_file.
- Nothing in compose is a literal secret.
tests/e2e/test_prod_smoke.py runs the compose command lines for real.
"""

from __future__ import annotations

import copy
import json
import re

import jsonschema
import pytest

from tests.compose import (
    COMPOSE_FILE,
    InterpolationError,
    env_example_documented,
    env_example_values,
    interpolate,
    interpolated_variables,
    load_compose,
    service_environment,
)
from tests.conftest import REPO

SCHEMA = REPO / "tests" / "deploy" / "compose-spec.json"
APP_SERVICES = (
    "init",
    "web",
    "worker",
    "worker-gpu1",
    "worker-cpu",
    "worker-encode",
    "worker-generate",
    "mailer",
    "beat",
)
SECRET_NAME_RE = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|_KEY$|AUTH|CREDENTIAL")
# env.<type>("NAME" ...) in triage/settings.py and triage/gunicorn.py.
ENV_READ_RE = re.compile(r"\benv\.\w+\(\s*\"([A-Z][A-Z0-9_]*)\"")


def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))


def test_compose_file_validates_against_the_compose_specification():
    errors = [
        f"{'/'.join(map(str, e.path))}: {e.message}"
        for e in validator().iter_errors(load_compose())
    ]
    assert errors == []


def test_the_schema_check_catches_mistakes():
    # The validation above is not vacuous: typical slips are refused.
    compose = load_compose()
    broken = copy.deepcopy(compose)
    broken["services"]["web"]["depends_on"]["init"]["condition"] = "finished"
    assert list(validator().iter_errors(broken))
    broken = copy.deepcopy(compose)
    broken["services"]["web"]["enviroment"] = {"X": "1"}
    assert list(validator().iter_errors(broken))


def settings_variables() -> set[str]:
    names = set()
    for path in ("triage/settings.py", "triage/gunicorn.py"):
        names |= set(ENV_READ_RE.findall((REPO / path).read_text()))
    from workers.nlp.device import DEVICE_ENV, DTYPE_ENV, THREADS_ENV

    return names | {DEVICE_ENV, DTYPE_ENV, THREADS_ENV}


def test_the_scan_finds_what_settings_read():
    names = settings_variables()
    # Spot checks across the file, including branch-only reads.
    assert {
        "SECRET_KEY",
        "DATABASE_CONNECT_TIMEOUT",
        "DJANGO_SECURE_SSL_REDIRECT",
        "TRIAGE_S3_BUCKET",
        "INBOUND_BASIC_AUTH",
        "WEB_CONCURRENCY",
        "TRIAGE_DEVICE",
    } <= names
    assert len(names) > 80


def test_every_setting_is_documented_in_env_example():
    documented = env_example_documented()
    missing = sorted(settings_variables() - documented)
    assert missing == [], f"not in .env.example: {missing}"
    # The per-step model overrides are documented by pattern and example.
    text = (REPO / ".env.example").read_text()
    assert "TRIAGE_MODEL_SUMMARY=" in text


def test_every_compose_variable_is_documented_in_env_example():
    used = interpolated_variables(COMPOSE_FILE.read_text())
    missing = sorted(used - env_example_documented())
    assert missing == [], f"compose interpolates undocumented {missing}"


def test_every_app_service_gets_the_env_file_and_production():
    services = load_compose()["services"]
    env = env_example_values()
    for name in APP_SERVICES:
        service = services[name]
        files = [
            item if isinstance(item, str) else item["path"]
            for item in service["env_file"]
        ]
        assert files == [".env"], name
        assert all(
            isinstance(item, str) or item.get("required", True)
            for item in service["env_file"]
        ), f"{name}: .env must be required"
        environment = service_environment(service, {**env, "POSTGRES_PASSWORD": "p"})
        assert environment["TRIAGE_ENV"] == "production", name
        assert environment["DATABASE_URL"].startswith("postgres://"), name
        assert environment["CELERY_BROKER_URL"].startswith("redis://"), name
    # The required secrets are blanks an operator must fill in.
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD"):
        assert env[name] == "", name
    with pytest.raises(InterpolationError, match="POSTGRES_PASSWORD"):
        service_environment(services["web"], {})


def _values(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _values(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _values(value, f"{path}/{i}")
    elif node is not None:
        yield path, str(node)


def test_no_literal_secret_in_compose():
    compose = load_compose()
    leaks = []
    for path, value in _values(compose):
        key = path.rsplit("/", 1)[-1]
        # A secret's value is only an interpolation, with no literal fallback.
        if SECRET_NAME_RE.search(key) and not re.fullmatch(
            r"\$\{[A-Z0-9_]+(:?\?[^}]*|:-)?\}", value
        ):
            leaks.append(f"{path}={value}")
        # Credentials inside URLs come from interpolation too.
        for user_info in re.findall(r"://([^@/\s]+)@", value):
            if ":" in user_info and "${" not in user_info.partition(":")[2]:
                leaks.append(f"{path}={value}")
    assert leaks == []
    # The scan would see one.
    assert SECRET_NAME_RE.search("SECRET_KEY") and SECRET_NAME_RE.search(
        "EMAIL_HOST_PASSWORD"
    )


def test_compose_architecture():
    services = load_compose()["services"]
    assert {"postgres", "redis", "init", "web", "worker", "mailer", "beat"} <= set(
        services
    )
    # init runs once, before web and workers.
    assert services["init"]["restart"] == "no"
    init = services["init"]["command"]
    assert "migrate" in init and "download_models" in init and "--deploy" in init
    workers = (
        "worker",
        "worker-gpu1",
        "worker-cpu",
        "worker-encode",
        "worker-generate",
    )
    for name in ("web", *workers, "mailer", "beat"):
        condition = services[name]["depends_on"]["init"]["condition"]
        assert condition == "service_completed_successfully", name
    # One service per GPU, pinned by device id; a CPU variant.
    for name, gpu in (("worker", "0"), ("worker-gpu1", "1")):
        worker = services[name]
        [device] = worker["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and device["device_ids"] == [gpu]
        assert "-Q gpu" in worker["command"] and "--pool=prefork" in worker["command"]
        assert "--prefetch-multiplier=1" in worker["command"]
        assert worker["environment"]["HF_HUB_OFFLINE"] == "1"
    # Every GPU worker serves a queue of each topology (single: gpu; split:
    # gpu-encode and gpu-generate), so no message waits on a queue nobody reads.
    consumed = set()
    for name in workers:
        queues = services[name]["command"].partition(" -Q ")[2].split()[0]
        consumed.update(queues.split(","))
        assert "--pool=prefork" in services[name]["command"], name
    assert {"gpu", "gpu-encode", "gpu-generate"} <= consumed
    assert services["worker-encode"]["profiles"] == ["encode"]
    assert services["worker-generate"]["profiles"] == ["generate"]
    assert "-Q gpu-encode " in services["worker-encode"]["command"]
    assert "-Q gpu-generate " in services["worker-generate"]["command"]
    assert "deploy" not in services["worker-cpu"]
    assert services["worker-cpu"]["environment"]["TRIAGE_DEVICE"] == "cpu"
    assert "default" in services["mailer"]["command"]  # the sweeper's queue
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "gunicorn -c python:triage.gunicorn" in services["web"]["command"]
    assert services["caddy"]["profiles"] == ["proxy"]
    assert services["flower"]["profiles"] == ["monitoring"]
    assert services["beat"]["command"] == "celery -A workers beat"
    # Only loopback or the proxy publish ports.
    for name, service in services.items():
        for port in service.get("ports", []):
            assert name == "caddy" or str(port).startswith("127.0.0.1:"), name


def test_caddy_caps_bodies_like_the_webhooks():
    from django.conf import settings

    caddyfile = (REPO / "deploy" / "Caddyfile").read_text()
    assert "max_size {$TRIAGE_PROXY_MAX_BODY}" in caddyfile
    assert "Strict-Transport-Security" in caddyfile
    cap = load_compose()["services"]["caddy"]["environment"]["TRIAGE_PROXY_MAX_BODY"]
    assert interpolate(cap, {}) == "40MiB"
    assert settings.TRIAGE_WEBHOOK_MAX_BYTES == 40 * 2**20


def test_dockerfile_defaults_to_production():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "TRIAGE_ENV=production" in dockerfile
    assert "manage.py collectstatic --noinput" in dockerfile
    assert 'CMD ["gunicorn", "-c", "python:triage.gunicorn"' in dockerfile
