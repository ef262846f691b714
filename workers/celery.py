"""The Celery app. `celery -A workers worker` finds `app` here.

Configuration comes from Django settings (namespace CELERY_) so there is one
settings module for the web and the workers.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage.settings")

app = Celery("triage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"], related_name="tasks")
