from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from triage.api import views

app_name = "api"

urlpatterns = [
    path("tickets/", views.TicketList.as_view(), name="ticket-list"),
    path("tickets/assign/", views.TicketAssign.as_view(), name="ticket-assign"),
    path("tickets/<int:pk>/", views.TicketDetail.as_view(), name="ticket-detail"),
    path(
        "tickets/<int:pk>/drafts/", views.TicketDrafts.as_view(), name="ticket-drafts"
    ),
    path(
        "tickets/<int:pk>/messages/",
        views.TicketMessages.as_view(),
        name="ticket-messages",
    ),
    path("tickets/<int:pk>/notes/", views.TicketNotes.as_view(), name="ticket-notes"),
    path("overview/", views.Overview.as_view(), name="overview"),
    path("messages/", views.MessageList.as_view(), name="message-list"),
    path("messages/<int:pk>/", views.MessageDetail.as_view(), name="message-detail"),
    path("customers/", views.CustomerList.as_view(), name="customer-list"),
    path("drafts/<int:pk>/", views.DraftDetail.as_view(), name="draft-detail"),
    path(
        "drafts/<int:pk>/approve/", views.DraftApprove.as_view(), name="draft-approve"
    ),
    path("drafts/<int:pk>/reject/", views.DraftReject.as_view(), name="draft-reject"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI from drf-spectacular-sidecar: assets served by the app (no CDN),
    # the init script a separate URL (the CSP allows no inline script).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema", template_name="api/swagger_ui.html"
        ),
        name="docs",
    ),
]
