"""The web process must never import torch (or transformers)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

PROBE = """
import sys
import django
django.setup()
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.urls import get_resolver
get_resolver().url_patterns  # load the URLconf
admin.autodiscover()
import triage.admin, triage.services, triage.selectors, workers.tasks  # noqa
Client().get("/healthz")
from django.contrib.auth.models import User
Client().get("/admin/login/")
heavy = sorted(m for m in ("torch", "transformers") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
"""


def test_web_process_never_imports_torch():
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "DJANGO_SETTINGS_MODULE": "triage.settings",
            "PATH": "/usr/bin:/bin",
            "TRIAGE_ENV": "development",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY:\n" in result.stdout or result.stdout.strip().endswith("HEAVY:")
