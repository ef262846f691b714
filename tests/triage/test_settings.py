from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from triage.model_profiles import (
    HUB_MODELS,
    LIBRARY_STEPS,
    ProfileError,
    resolve_models,
)


def test_profiles(monkeypatch, tmp_path):
    for step in (*HUB_MODELS, *LIBRARY_STEPS):
        monkeypatch.delenv(f"TRIAGE_MODEL_{step.upper()}", raising=False)
    assert resolve_models("hub", tiny_dir=tmp_path) == {**HUB_MODELS, **LIBRARY_STEPS}
    tiny = resolve_models("tiny", tiny_dir=tmp_path)
    assert tiny == {
        **{step: str(tmp_path / step) for step in HUB_MODELS},
        **LIBRARY_STEPS,
    }
    offline = resolve_models("offline", tiny_dir=tmp_path, heads_dir=tmp_path / "h")
    assert offline["sentiment"] == f"offline:minilm-heads@{tmp_path / 'h'}"
    assert offline["intent"] == f"offline:minilm-heads@{tmp_path / 'h'}"
    assert offline["translation"] == "offline:apertium@{src}-{tgt}"
    assert offline["language"] == "lingua"
    custom = resolve_models('{"sentiment": "/models/sst2"}', tiny_dir=tmp_path)
    assert custom["sentiment"] == "/models/sst2"
    assert custom["answer"] == HUB_MODELS["answer"]
    monkeypatch.setenv("TRIAGE_MODEL_ANSWER", "/models/squad")
    assert resolve_models("hub", tiny_dir=tmp_path)["answer"] == "/models/squad"
    with pytest.raises(ProfileError):
        resolve_models("bogus", tiny_dir=tmp_path)


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, str(Path(REPO) / "manage.py"), *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def test_production_refuses_the_dev_secret_key():
    env = {"TRIAGE_ENV": "production", "DJANGO_ALLOWED_HOSTS": "triage.example.com"}
    env["SECRET_KEY"] = ""
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_check_deploy_passes_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        TRIAGE_ENV="production",
        SECRET_KEY="k" * 20 + "-production-secret-for-tests-only-0123456789",
        DJANGO_ALLOWED_HOSTS="triage.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _manage_clean(*args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py with none of this run's settings variables: only `env`."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "TRIAGE_", "EMAIL_", "IMAP_", "CELERY_"))
        and k not in {"SECRET_KEY", "INBOUND_BASIC_AUTH", "DATABASE_URL"}
    }
    return subprocess.run(
        [sys.executable, str(Path(REPO) / "manage.py"), *args],
        env={**keep, **env},
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


PROD = {
    "SECRET_KEY": "k" * 20 + "-production-secret-for-tests-only-0123456789",
    "DJANGO_ALLOWED_HOSTS": "triage.example.com",
}


def test_production_is_the_default_and_needs_a_secret_key():
    # TRIAGE_ENV unset: production, so the development key is never used.
    result = _manage_clean("check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
    result = _manage_clean("check", **PROD)
    assert result.returncode == 0, result.stderr
    result = _manage_clean(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
        **PROD,
    )
    assert result.stdout.strip() == "False"


def test_production_needs_allowed_hosts_and_refuses_debug():
    result = _manage_clean("check", SECRET_KEY=PROD["SECRET_KEY"])
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr
    result = _manage_clean("check", DJANGO_DEBUG="true", **PROD)
    assert result.returncode != 0
    assert "DJANGO_DEBUG=true is refused in production" in result.stderr


def test_development_is_opt_in():
    result = _manage_clean(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)",
        TRIAGE_ENV="development",
    )
    assert result.returncode == 0, result.stderr
    debug, key = result.stdout.split()
    assert debug == "False"  # even in development, only DJANGO_DEBUG turns it on
    assert key.startswith("django-insecure")


@pytest.mark.parametrize("value", [":", "user:", ":password", "no-colon"])
def test_inbound_basic_auth_without_user_or_password_is_refused(value):
    result = _manage_clean("check", INBOUND_BASIC_AUTH=value, **PROD)
    assert result.returncode != 0
    assert "INBOUND_BASIC_AUTH must be 'user:password'" in result.stderr


def test_inbound_basic_auth_with_both_parts_starts():
    result = _manage_clean("check", INBOUND_BASIC_AUTH="postmark:s3cret", **PROD)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IMAP_PORT", "nine-nine-three"),
        ("DATABASE_CONNECT_TIMEOUT", "soon"),
        ("EMAIL_USE_TLS", "perhaps"),
        ("TRIAGE_BACKENDS", "{not json"),
        ("TRIAGE_BROKER_TLS_CERT_REQS", "sometimes"),
        ("TRIAGE_REPLY_APPROVAL", "nobody"),
        ("TRIAGE_BUSINESS_START_HOUR", "25"),
    ],
)
def test_a_bad_value_names_the_variable(name, value):
    env = {**PROD, "DATABASE_URL": "postgres://u@127.0.0.1:5432/x", name: value}
    result = _manage_clean("check", **env)
    assert result.returncode != 0
    assert f'Environment variable "{name}" invalid' in result.stderr


def test_database_connect_timeout_and_health_checks(settings):
    from django.db import connection

    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    if connection.vendor == "postgresql":
        assert settings.DATABASES["default"]["OPTIONS"]["connect_timeout"] == 5


def test_broker_sentinel_and_tls_from_env():
    code = (
        "from django.conf import settings as s; import json;"
        "print(json.dumps([s.CELERY_BROKER_TRANSPORT_OPTIONS,"
        " s.CELERY_REDBEAT_REDIS_OPTIONS['sentinels'],"
        " int(s.CELERY_BROKER_USE_SSL['ssl_cert_reqs'])]))"
    )
    result = _manage_clean(
        "shell",
        "--no-imports",
        "-c",
        code,
        TRIAGE_ENV="development",
        CELERY_BROKER_URL="sentinel://s1:26379;sentinel://s2:26380",
        TRIAGE_BROKER_SENTINEL_MASTER="mymaster",
        TRIAGE_BROKER_SENTINEL_PASSWORD="pw",
        TRIAGE_BROKER_TLS_CA_FILE="/etc/ssl/redis-ca.pem",
    )
    assert result.returncode == 0, result.stderr
    transport, sentinels, cert_reqs = json.loads(result.stdout)
    assert transport["master_name"] == "mymaster"
    assert transport["sentinel_kwargs"] == {"password": "pw"}
    assert sentinels == [["s1", 26379], ["s2", 26380]]
    assert cert_reqs == ssl.CERT_REQUIRED


def test_attachments_on_s3_when_configured():
    code = (
        "from django.core.files.storage import storages; d = storages['default'];"
        "print(type(d).__module__, d.bucket_name, d.querystring_auth, d.default_acl)"
    )
    result = _manage_clean(
        "shell",
        "--no-imports",
        "-c",
        code,
        TRIAGE_ENV="development",
        TRIAGE_STORAGE="s3",
        TRIAGE_S3_BUCKET="attachments",
        TRIAGE_S3_ENDPOINT_URL="http://127.0.0.1:9",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "storages.backends.s3",
        "attachments",
        "True",
        "None",
    ]
    result = _manage_clean("check", TRIAGE_ENV="development", TRIAGE_STORAGE="s3")
    assert 'Environment variable "TRIAGE_S3_BUCKET" not set' in result.stderr
