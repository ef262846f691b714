"""The browsable API without inline CSS, so the strict CSP has nothing to refuse."""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import BrowsableAPIRenderer


class CspBrowsableAPIRenderer(BrowsableAPIRenderer):
    def get_context(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(*args, **kwargs)
        # DRF puts Pygments' colours for docstring code in a <style> element;
        # `style-src 'self'` refuses it (and the page loses only the colours).
        context["code_style"] = None
        return context
