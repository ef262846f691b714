"""Read docker-compose.yml and .env.example the way Compose does (no Docker here).

Used by tests/test_deploy_files.py (what the files promise) and
tests/e2e/test_prod_smoke.py (which runs the compose command lines for real).
Only the Compose features these files use are implemented: `${VAR}`,
`${VAR:-default}` (nested), `${VAR:?error}`, `$$`, YAML merge keys, and the
command string split like a shell word list (Compose's own rule).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

import yaml
from dotenv import dotenv_values

from tests.conftest import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
# `VAR=value` or `# VAR=value` (a documented default, commented out).
DOCUMENTED_RE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def env_example_values() -> dict[str, str]:
    """The lines an operator fills in (what env_file passes), as Compose parses."""
    return {k: v or "" for k, v in dotenv_values(ENV_EXAMPLE).items()}


def env_example_documented() -> set[str]:
    return set(DOCUMENTED_RE.findall(ENV_EXAMPLE.read_text()))


class InterpolationError(ValueError):
    pass


def _closing(text: str, start: int) -> int:
    """Index of the `}` closing the `${` that opens at `start`."""
    depth = 0
    for i in range(start, len(text)):
        if text.startswith("${", i):
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    raise InterpolationError(f"unclosed ${{ in {text!r}")


def interpolate(text: str, env: Mapping[str, str]) -> str:
    out, i = [], 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            end = _closing(text, i)
            out.append(_expand(text[i + 2 : end], env))
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _expand(expr: str, env: Mapping[str, str]) -> str:
    match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(:?[-?])?(.*)", expr, re.DOTALL)
    if not match:
        raise InterpolationError(f"bad expression ${{{expr}}}")
    name, op, rest = match.groups()
    value = env.get(name)
    if op is None:
        return value or ""
    unset = value is None or (op.startswith(":") and value == "")
    if op.endswith("-"):
        return interpolate(rest, env) if unset else value
    if unset:  # "?" / ":?"
        raise InterpolationError(f"{name}: {interpolate(rest, env)}")
    return value


def interpolated_variables(text: str) -> set[str]:
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))


def service_environment(
    service: Mapping[str, Any], env: Mapping[str, str]
) -> dict[str, str]:
    """The service's `environment:` after interpolation (overrides env_file)."""
    result = {}
    for key, value in (service.get("environment") or {}).items():
        if value is None:  # passed through from the shell
            if key in env:
                result[key] = env[key]
            continue
        result[key] = interpolate(str(value), env)
    return result


def service_command(service: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    command = service["command"]
    if isinstance(command, list):
        return [interpolate(str(part), env) for part in command]
    return shlex.split(interpolate(command, env))
