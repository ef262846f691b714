"""docker-compose.yml can't run here (no Docker engine): check what can be checked."""

from __future__ import annotations

import yaml

from tests.conftest import REPO


def test_compose_file_declares_the_architecture():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(services)
    worker = services["worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert "--concurrency=1" in worker["command"] and "-Q gpu" in worker["command"]
    assert "--prefetch-multiplier=1" in worker["command"]
    assert "default" in services["mailer"]["command"]  # the sweeper's queue
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["flower"]["profiles"] == ["monitoring"]
    assert "celery -A workers beat" in services["beat"]["command"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://")
        assert env["TRIAGE_ENV"] == "production"
