"""Serve PyGithub's recorded GitHub traffic (``../shared/data/pygithub-replay``) on loopback.

Each recording is 10 lines per request (see that folder's SOURCES.md). Responses are served per
(verb, path) in recorded order, query strings ignored (LEO asks for ``per_page=100``), with
``https://api.github.com`` rewritten to the loopback URL and hop-by-hop headers dropped.
"""

from __future__ import annotations

import ast
import threading
from collections import defaultdict, deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_DROP = {"content-length", "transfer-encoding", "content-encoding", "status", "connection"}


def parse(path: Path) -> list[tuple[str, str, int, list[tuple[str, str]], str]]:
    """(verb, path?query, status, headers, body) of each recorded request."""
    lines = path.read_text(encoding="utf-8").split("\n")
    out = []
    i = 0
    while i + 9 < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        verb, target = lines[i + 1], lines[i + 4]
        status = int(lines[i + 7])
        headers = ast.literal_eval(lines[i + 8])
        body = lines[i + 9]
        out.append((verb, target, status, headers, body))
        i += 11
    return out


class Replay:
    def __init__(self, files: Iterable[Path]) -> None:
        self.queues: dict[tuple[str, str], deque[tuple[int, list[tuple[str, str]], str, str]]] = (
            defaultdict(deque)
        )
        self.served: list[tuple[str, str, int]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        for f in files:
            for verb, target, status, headers, body in parse(f):
                parts = urlsplit(target)
                self.queues[(verb, parts.path)].append((status, headers, body, parts.query))
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                parts = urlsplit(self.path)
                key = (self.command, parts.path)
                queue = replay.queues.get(key)
                if queue:
                    # The same query as recorded, else the unpaged recording, else the next one.
                    pick = next((r for r in queue if r[3] == parts.query), None)
                    pick = pick or next((r for r in queue if not r[3]), None) or queue[0]
                    if len(queue) > 1:
                        queue.remove(pick)
                    status, headers, body, _query = pick
                else:
                    status, headers, body = 404, [], '{"message": "not recorded"}'
                replay.served.append((*key, status))
                data = body.replace("https://api.github.com", replay.url).encode()
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in _DROP:
                        self.send_header(k, v.replace("https://api.github.com", replay.url))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        return Handler
