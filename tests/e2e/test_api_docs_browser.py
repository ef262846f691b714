"""The API docs page renders in real Chromium under the app's CSP (no violation)."""

from __future__ import annotations

import pytest

from tests.e2e.test_dashboard_browser import login, watch
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_without_csp_violations(browser, live_server):
    UserFactory(username="docs-admin", is_superuser=True)
    page = login(browser, live_server, "docs-admin")
    seen = watch(page)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    response = page.goto(f"{live_server.url}/api/v1/docs/")
    assert response.status == 200
    # Swagger UI drew the operations from the schema it fetched.
    page.locator("text=/api/v1/drafts/{id}/approve/").first.wait_for(timeout=20_000)
    assert seen["csp"] == []
    assert all(url.startswith(live_server.url) for url in requests), requests
    page.context.close()
