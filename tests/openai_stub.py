"""A real local HTTP server speaking the OpenAI chat-completions wire format,
scripted per request: answer 500, hang past the client's timeout, or answer a
completion. For the failure paths of the OpenAI-compatible backend (the real
llama.cpp server cannot be made to fail on cue)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Sequence

COMPLETION = "We are sorry that the wrong figure arrived."


class _Handler(http.server.BaseHTTPRequestHandler):
    server: ScriptedServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        behaviour = self.server.next_behaviour(self.path)
        if behaviour == "hang":
            time.sleep(self.server.hang_s)
        status = 200 if behaviour == "ok" else 500
        payload = (
            {
                "id": "chatcmpl-stub",
                "object": "chat.completion",
                "created": 0,
                "model": "smollm2",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": COMPLETION},
                        "finish_reason": "stop",
                    }
                ],
            }
            if status == 200
            else {"error": {"message": "boom", "type": "server_error"}}
        )
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (timeout)

    def log_message(self, *args: object) -> None:
        pass


class ScriptedServer(http.server.ThreadingHTTPServer):
    """``script``: the behaviour of request 1, 2, ...; the last one repeats."""

    daemon_threads = True

    def __init__(self, script: Sequence[str], *, hang_s: float = 5.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = list(script)
        self.hang_s = hang_s
        self.seen: list[str] = []
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def next_behaviour(self, path: str) -> str:
        with self._lock:
            self.seen.append(path)
            return self.script[min(len(self.seen), len(self.script)) - 1]

    def __enter__(self) -> ScriptedServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
