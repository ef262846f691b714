"""The OpenAPI schema: valid OpenAPI 3, and changed only on purpose.

After a deliberate API change, regenerate the committed copy with
`TRIAGE_ENV=development python manage.py spectacular --validate --fail-on-warn
--file tests/triage/api/openapi.yaml` and review the diff.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import yaml
from django.contrib.staticfiles import finders
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer
from openapi_spec_validator import validate

from tests.factories import UserFactory

COMMITTED = Path(__file__).with_name("openapi.yaml")
REGENERATE = (
    "TRIAGE_ENV=development python manage.py spectacular --validate "
    "--fail-on-warn --file tests/triage/api/openapi.yaml"
)


def _current() -> str:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return OpenApiYamlRenderer().render(schema, renderer_context={}).decode()


def test_schema_is_valid_openapi_3(db):
    schema = yaml.safe_load(_current())
    validate(schema)
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/drafts/{id}/approve/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"


def test_schema_matches_the_committed_copy(db):
    current, committed = _current(), COMMITTED.read_text()
    diff = "".join(
        difflib.unified_diff(
            committed.splitlines(True), current.splitlines(True), "committed", "now"
        )
    )
    assert not diff, f"The API changed; if on purpose run `{REGENERATE}`:\n{diff}"


def test_served_schema_is_the_same(client, db):
    client.force_login(UserFactory(is_superuser=True))
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert yaml.safe_load(response.content) == yaml.safe_load(_current())


def test_docs_page_needs_no_inline_script_or_style_and_no_cdn(client, db):
    client.force_login(UserFactory(is_superuser=True))
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "script-src 'self'" in page["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(
        "src=" in attrs and not body.strip() for attrs, body in scripts
    )
    assert "<style" not in html and " style=" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))]
    # The assets are the app's own static files, and the init script is served.
    for source in sources:
        if source.startswith("/static/"):
            assert finders.find(source.removeprefix("/static/")), source
    script_url = next(s for s in sources if "script" in s.split("?")[-1])
    init = client.get(script_url.replace("&amp;", "&"))
    assert init.status_code == 200
    assert "SwaggerUIBundle" in init.content.decode()


def test_browsable_api_is_csp_clean_and_self_hosted(client, db):
    from triage.services import roles_sync

    client.force_login(UserFactory(groups=[roles_sync()["Agents"]]))
    page = client.get("/api/v1/tickets/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert "style-src 'self'" in page["Content-Security-Policy"]
    html = page.content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    # Only the JSON data block (never executed) may have a body.
    assert scripts and all(
        "src=" in attrs and not body.strip()
        for attrs, body in scripts
        if "application/json" not in attrs
    )
    assert "<style" not in html and " style=" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))]
    for source in sources:
        if source.startswith("/static/"):
            assert finders.find(source.removeprefix("/static/")), source
