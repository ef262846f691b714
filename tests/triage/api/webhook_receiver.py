"""A real webhook receiver for the tests: http.server in a thread, HTTP or HTTPS
(a throwaway CA made with the openssl command), and the README's snippets."""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.ci import need
from tests.conftest import REPO

EVENT_ID = "Triage-Event-Id"


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int


class Receiver:
    """Answers with the codes queued in `answers`, else 500 to the first
    `fail_first` requests of each event id, else 200; keeps every request."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
        fail_first: int = 0,
    ) -> None:
        self.log: list[Received] = []
        self.answers: list[int] = []
        self.fail_first = fail_first
        # Cleared: requests wait here before being answered (a slow receiver).
        self.release = threading.Event()
        self.release.set()
        self.waiting = threading.Semaphore(0)
        self.server_names: list[str | None] = []
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.waiting.release()
                receiver.release.wait(30)
                code = receiver._answer(self.headers.get(EVENT_ID, ""))
                receiver.log.append(Received(dict(self.headers), body, code))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        # Listen where the name resolves first: that is where the sender,
        # resolving once, connects.
        family, _, _, _, address = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[
            0
        ]
        server_class = type(
            "Server", (ThreadingHTTPServer,), {"address_family": family}
        )
        self.server = server_class(address[:2], Handler)
        port = self.server.server_address[1]
        if tls is not None:
            tls.sni_callback = self._record_server_name
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls else "http"
        netloc = f"[{host}]" if ":" in host else host
        self.url = f"{scheme}://{netloc}:{port}/hooks?x=1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _answer(self, event_id: str) -> int:
        with self._lock:
            if self.answers:
                return self.answers.pop(0)
            self._seen[event_id] += 1
            return 500 if self._seen[event_id] <= self.fail_first else 200

    def _record_server_name(
        self, sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext
    ) -> None:
        self.server_names.append(name)

    @property
    def requests(self) -> list[tuple[dict[str, str], bytes]]:
        return [(r.headers, r.body) for r in self.log]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA certificate (PEM), what the sender trusts
    cert: Path  # the server's certificate, signed by the CA
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_pki(directory: Path, *names: str) -> Pki:
    """A fresh CA and a server certificate for DNS `names` (no IP address in it:
    a client that checked the address it connected to would fail)."""
    openssl = shutil.which("openssl")
    need(openssl is not None, "the openssl command is absent (apt-get install openssl)")
    assert openssl is not None

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True)

    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(
        "req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=triage test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    sans = ",".join(f"DNS:{name}" for name in names)
    (directory / "server.ext").write_text(
        f"subjectAltName={sans}\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid:always\n"
    )
    run(
        "req", *key, "-keyout", "server.key", "-out", "server.csr",
        "-subj", f"/CN={names[0]}",
    )  # fmt: skip
    run(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2",
        "-extfile", "server.ext",
    )  # fmt: skip
    return Pki(directory / "ca.pem", directory / "server.pem", directory / "server.key")


def readme_snippet(contains: str) -> str:
    """The README's ```python block that contains `contains`."""
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    found = [block for block in blocks if contains in block]
    assert len(found) == 1, f"README has {len(found)} python blocks with {contains!r}"
    return found[0]


def readme_verify() -> Any:
    """The README's `verify(secret, body, header)`, as a receiver would paste it."""
    namespace: dict[str, Any] = {}
    exec(compile(readme_snippet("def verify("), "README.md", "exec"), namespace)
    return namespace["verify"]
