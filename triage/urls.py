from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from triage.admin_attachments import attachment_serve
from triage.admin_merge import message_split_view, ticket_merge_view
from triage.admin_views import outbox, overview
from triage.health import healthz

admin.site.site_header = "triage — support inbox"
admin.site.site_title = "triage"
admin.site.index_title = "Support triage"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/triage/ticket/", permanent=False)),
    # Before the admin's own URLs, which would answer it with a 404.
    path("admin/triage/overview/", overview, name="triage_overview"),
    path("admin/triage/outbox/", outbox, name="triage_outbox"),
    # Issue 15: attachments served by the app (own permission check), merge/split.
    path(
        "admin/triage/attachments/<int:attachment_id>/",
        attachment_serve,
        name="triage_attachment",
    ),
    path(
        "admin/triage/ticket/<int:ticket_id>/merge/",
        admin.site.admin_view(ticket_merge_view),
        name="triage_ticket_merge",
    ),
    path(
        "admin/triage/message/<int:message_id>/split/",
        admin.site.admin_view(message_split_view),
        name="triage_message_split",
    ),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("webhooks/", include("triage.webhooks.urls")),
    path("api/v1/", include("triage.api.urls")),
]
