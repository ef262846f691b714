from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from triage.health import healthz

admin.site.site_header = "triage — support inbox"
admin.site.site_title = "triage"
admin.site.index_title = "Support triage"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/triage/ticket/", permanent=False)),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
