"""Webhook routes, mounted at /webhooks/. The trailing slash is optional: providers
do not follow the redirect APPEND_SLASH would answer (SendGrid says so outright)."""

from django.urls import re_path

from triage.webhooks import views

urlpatterns = [
    re_path(r"^postmark/?$", views.postmark, name="webhook-postmark"),
    # Mailgun posts the raw MIME (`body-mime`) to route URLs that end in "mime".
    re_path(r"^mailgun/mime/?$", views.mailgun, name="webhook-mailgun-mime"),
    re_path(r"^mailgun/?$", views.mailgun, name="webhook-mailgun"),
    re_path(r"^sendgrid/?$", views.sendgrid, name="webhook-sendgrid"),
    re_path(
        r"^sendgrid/(?P<secret>[^/]+)/?$",
        views.sendgrid,
        name="webhook-sendgrid-secret",
    ),
    re_path(r"^mime/?$", views.raw_mime, name="webhook-mime"),
    re_path(r"^(?P<provider>[^/]+)/?$", views.unknown, name="webhook-unknown"),
]
