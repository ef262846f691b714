"""Shared fixtures: tiny local models (built once, cached on disk) and services."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

# Under CI=true a skip is a failure unless allow-listed (tests/ci.py says why).
from tests.ci import (  # noqa: F401 - pytest finds the hooks by name here
    in_ci,
    pytest_collectreport,
    pytest_configure,
    pytest_runtest_logreport,
    pytest_runtest_setup,
    pytest_sessionfinish,
    pytest_terminal_summary,
)

# Nothing in the suite may reach the Hugging Face Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
# The real third-party payloads (../shared/corpus); TRIAGE_SHARED_CORPUS points
# elsewhere (e.g. /nonexistent, to see what a run without it does).
SHARED_CORPUS = Path(
    os.environ.get("TRIAGE_SHARED_CORPUS", REPO.parent / "shared" / "corpus")
)
NO_SHARED_CORPUS = f"../shared/corpus is absent ({SHARED_CORPUS} not found)"
TINY_DIR = Path(os.environ.get("TRIAGE_TINY_DIR", REPO / "var" / "models" / "tiny"))


def pytest_sessionstart(session: pytest.Session) -> None:
    # CI must exercise the real services; a silent fallback would hide a broken run.
    if in_ci():
        problems = service_problems(os.environ)
        if problems:
            raise pytest.UsageError("CI=true but " + "; ".join(problems))


def service_problems(env: Mapping[str, str]) -> list[str]:
    """Why DATABASE_URL / CELERY_BROKER_URL are not a PostgreSQL and a Redis that
    answer (empty when they are). Set is not enough: sqlite:// or memory:// would
    make the PostgreSQL and Redis tests skip."""
    problems = []
    database = env.get("DATABASE_URL", "")
    broker = env.get("CELERY_BROKER_URL", "")
    if not database.startswith(("postgres://", "postgresql://")):
        problems.append(f"DATABASE_URL is not a PostgreSQL URL ({database!r})")
    else:
        import dj_database_url
        import psycopg

        db = dj_database_url.parse(database)
        try:
            # The server's own database: the test database is created later.
            psycopg.connect(
                host=db["HOST"] or "127.0.0.1",
                port=db["PORT"] or 5432,
                user=db["USER"] or None,
                password=db["PASSWORD"] or None,
                dbname="postgres",
                connect_timeout=5,
            ).close()
        except psycopg.Error as error:
            problems.append(f"PostgreSQL at DATABASE_URL does not answer ({error})")
    if not broker.startswith(("redis://", "rediss://")):
        problems.append(f"CELERY_BROKER_URL is not a Redis URL ({broker!r})")
    else:
        import redis

        client = redis.Redis.from_url(broker, socket_connect_timeout=5)
        try:
            client.ping()
        except redis.RedisError as error:
            problems.append(f"Redis at CELERY_BROKER_URL does not answer ({error})")
        finally:
            client.close()
    return problems


@pytest.fixture(scope="session")
def tiny_models() -> dict[str, str]:
    """Step name -> local path of a tiny random model of the real architecture."""
    from workers.nlp_testing.tiny import build_tiny_models

    return build_tiny_models(TINY_DIR)


@pytest.fixture
def tiny_settings(settings, tiny_models):
    settings.TRIAGE_MODELS = dict(tiny_models)
    return settings


@pytest.fixture
def sample_bytes():
    def read(name: str) -> bytes:
        return (SAMPLES / name).read_bytes()

    return read


@pytest.fixture
def host_cpu(monkeypatch):
    """``host_cpu(amx=..., vendor=..., avx512_bf16=...)``: the CPU torch and
    /proc/cpuinfo report, with oneDNN not capped. Which hosts have what is not ours
    to choose, so their answers are replaced (tests/workers/nlp/test_device.py
    checks the real ones)."""
    import torch

    from workers.nlp import device

    def pretend(
        *, amx: bool, vendor: str = "GenuineIntel", avx512_bf16: bool = True
    ) -> None:
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
        monkeypatch.setattr(torch.cpu, "_init_amx", lambda: True)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
        monkeypatch.setattr(device, "_cpu_vendor", lambda: vendor)
        monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)

    return pretend


@pytest.fixture
def host_amx(host_cpu):
    """``host_amx(present)``: an Intel CPU with AMX tiles (granted) or without."""

    def pretend(present: bool) -> None:
        host_cpu(amx=present)

    return pretend
