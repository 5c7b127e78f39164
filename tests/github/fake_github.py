"""A stateful fake of the GitHub REST API on loopback, for driving the real PyGithub client.

It keeps pull requests, labels, statuses, check runs and comments in memory, paginates with
``Link`` headers like GitHub, caps file listings at 3,000, and can inject faults (a 502, a
rate-limited 403 with ``Retry-After``, a write that is applied but whose response is lost) and
run hooks after a request (move the PR's head while LEO works). Every request is logged.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

API_FILE_CAP = 3000
BOT = {"login": "leo-app[bot]", "id": 99, "type": "Bot"}
HUMAN = {"login": "mallory", "id": 7, "type": "User"}


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso(offset_s: float = 0) -> str:
    return iso(datetime.now(UTC) + timedelta(seconds=offset_s))


@dataclass
class Fault:
    method: str
    pattern: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    times: int = 1
    apply: bool = False
    """Process the request normally, then answer with the fault (a lost response)."""


@dataclass
class Pull:
    number: int
    head_sha: str
    base_sha: str
    base_ref: str = "main"
    head_ref: str = "feature"
    title: str = "A change"
    state: str = "open"
    files: list[str] = field(default_factory=list)
    changed_files: int | None = None
    commits: list[tuple[str, str]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


@dataclass
class Logged:
    method: str
    path: str
    status: int
    at: float
    body: Any = None
    auth: str = ""


class FakeGitHub:
    """One repository's worth of GitHub, served on ``self.url``."""

    def __init__(self, repository: str = "acme/widgets", clone_url: str = "") -> None:
        self.repository = repository
        self.clone_url = clone_url
        self.pulls: dict[int, Pull] = {}
        self.labels: dict[str, tuple[str, str]] = {}
        self.statuses: dict[str, list[dict[str, Any]]] = {}
        self.check_runs: dict[str, list[dict[str, Any]]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        # branch -> the rules / required_status_checks GitHub answers; an absent branch is a 404
        # (a server without rulesets, or a token without admin for branch protection).
        self.rules: dict[str, list[dict[str, Any]]] = {}
        self.protection: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.hooks: list[tuple[str, str, Callable[[FakeGitHub], None], bool]] = []
        self.log: list[Logged] = []
        self.tokens: dict[str, str] = {}
        self.lock = threading.RLock()
        self._ids = 1000
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeGitHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- scripting -------------------------------------------------------------------------
    def fail(self, method: str, pattern: str, status: int, **kwargs: Any) -> None:
        self.faults.append(Fault(method, pattern, status, **kwargs))

    def on(
        self, method: str, pattern: str, fn: Callable[[FakeGitHub], None], once: bool = True
    ) -> None:
        self.hooks.append((method, pattern, fn, once))

    def add_status(self, sha: str, context: str, state: str, *, age_s: float = 0) -> None:
        with self.lock:
            self.statuses.setdefault(sha, []).append(self._status(context, state, "", None, age_s))

    def add_check_run(
        self,
        sha: str,
        name: str,
        status: str = "completed",
        conclusion: str | None = "success",
        *,
        age_s: float = 0,
    ) -> None:
        with self.lock:
            self._ids += 1
            self.check_runs.setdefault(sha, []).append(
                {
                    "id": self._ids,
                    "name": name,
                    "head_sha": sha,
                    "status": status,
                    "conclusion": conclusion if status == "completed" else None,
                    "started_at": now_iso(-age_s),
                    "completed_at": now_iso() if status == "completed" else None,
                    "url": f"{self.api}/check-runs/{self._ids}",
                    "html_url": "https://github.invalid/run",
                    "app": {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"},
                }
            )

    def leo_statuses(self, sha: str, context: str = "LEO Gate Validation") -> list[str]:
        return [s["state"] for s in self.statuses.get(sha, []) if s["context"] == context]

    def requests(self, method: str, pattern: str) -> list[Logged]:
        return [e for e in self.log if e.method == method and re.search(pattern, e.path)]

    # -- JSON shapes -----------------------------------------------------------------------
    @property
    def api(self) -> str:
        return f"{self.url}/repos/{self.repository}"

    def _repo_json(self) -> dict[str, Any]:
        owner, name = self.repository.split("/")
        return {
            "id": 1,
            "name": name,
            "full_name": self.repository,
            "owner": {"login": owner, "id": 1, "type": "Organization"},
            "private": False,
            "url": self.api,
            "html_url": f"https://github.invalid/{self.repository}",
            "clone_url": self.clone_url,
            "default_branch": "main",
        }

    def _label_json(self, name: str) -> dict[str, Any]:
        color, description = self.labels.get(name, ("ededed", ""))
        return {
            "id": abs(hash(name)) % 10**6,
            "url": f"{self.api}/labels/{quote(name)}",
            "name": name,
            "color": color,
            "description": description,
            "default": False,
        }

    def _commit_json(self, sha: str, message: str = "a commit") -> dict[str, Any]:
        person = {"name": "Dev", "email": "dev@example.invalid", "date": now_iso(-60)}
        return {
            "sha": sha,
            "url": f"{self.api}/commits/{sha}",
            "commit": {
                "message": message,
                "author": person,
                "committer": person,
                "url": f"{self.api}/git/commits/{sha}",
            },
            "parents": [],
            "files": [],
        }

    def _pull_json(self, pr: Pull) -> dict[str, Any]:
        part = lambda ref, sha: {  # noqa: E731
            "label": f"acme:{ref}",
            "ref": ref,
            "sha": sha,
            "repo": self._repo_json(),
            "user": HUMAN,
        }
        return {
            "id": pr.number,
            "number": pr.number,
            "url": f"{self.api}/pulls/{pr.number}",
            "issue_url": f"{self.api}/issues/{pr.number}",
            "html_url": f"https://github.invalid/{self.repository}/pull/{pr.number}",
            "state": pr.state,
            "title": pr.title,
            "draft": False,
            "user": HUMAN,
            "head": part(pr.head_ref, pr.head_sha),
            "base": part(pr.base_ref, pr.base_sha),
            "labels": [self._label_json(n) for n in pr.labels],
            "changed_files": pr.changed_files if pr.changed_files is not None else len(pr.files),
            "commits": len(pr.commits),
            "created_at": now_iso(-3600),
            "updated_at": now_iso(),
        }

    def _status(
        self, context: str, state: str, description: str, target: str | None, age_s: float = 0
    ) -> dict[str, Any]:
        self._ids += 1
        return {
            "id": self._ids,
            "url": f"{self.api}/statuses/{self._ids}",
            "state": state,
            "context": context,
            "description": description,
            "target_url": target,
            "created_at": now_iso(-age_s),
            "updated_at": now_iso(-age_s),
            "creator": BOT,
        }

    def _comment_json(self, c: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": c["id"],
            "url": f"{self.api}/issues/comments/{c['id']}",
            "html_url": f"https://github.invalid/c/{c['id']}",
            "issue_url": f"{self.api}/issues/{c['issue']}",
            "body": c["body"],
            "user": c["user"],
            "created_at": c["created_at"],
            "updated_at": c["updated_at"],
        }

    # -- routing ---------------------------------------------------------------------------
    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: Any,
        headers: dict[str, str],
    ) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            entry = Logged(
                method, path, 0, time.monotonic(), body, headers.get("authorization", "")
            )
            self.log.append(entry)
            fault = next(
                (
                    f
                    for f in self.faults
                    if f.times > 0 and f.method == method and re.search(f.pattern, path)
                ),
                None,
            )
            if fault is not None:
                fault.times -= 1
                if fault.apply:
                    self._route(method, path, query, body)
                entry.status = fault.status
                return fault.status, fault.headers, fault.body or {"message": "fault injected"}
            if (
                self.tokens
                and entry.auth not in self.tokens.values()
                and not entry.auth.startswith("Bearer")
            ):
                entry.status = 401
                return 401, {}, {"message": "Bad credentials"}
            status, extra, payload = self._route(method, path, query, body)
            entry.status = status
            for hook in list(self.hooks):
                m, pattern, fn, once = hook
                if m == method and re.search(pattern, path) and status < 400:
                    if once:
                        self.hooks.remove(hook)
                    fn(self)
            return status, extra, payload

    def _page(
        self, path: str, query: dict[str, list[str]], items: list[Any]
    ) -> tuple[dict[str, str], list[Any]]:
        per_page = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        last = max(1, -(-len(items) // per_page))
        if page < last:
            headers["Link"] = (
                f'<{self.url}{path}?per_page={per_page}&page={page + 1}>; rel="next", '
                f'<{self.url}{path}?per_page={per_page}&page={last}>; rel="last"'
            )
        return headers, chunk

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, dict[str, str], Any]:
        prefix = f"/repos/{self.repository}"
        m = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
        if m and method == "POST":
            token = self.tokens.get(m.group(1), "ghs_none")
            return (
                201,
                {},
                {"token": token.split(" ", 1)[-1], "expires_at": now_iso(3600), "permissions": {}},
            )
        if not path.startswith(prefix):
            return 404, {}, {"message": "Not Found"}
        rest = path[len(prefix) :]
        if rest == "" and method == "GET":
            return 200, {}, self._repo_json()
        if m := re.fullmatch(r"/pulls/(\d+)", rest):
            pr = self.pulls.get(int(m.group(1)))
            return (200, {}, self._pull_json(pr)) if pr else (404, {}, {"message": "Not Found"})
        if m := re.fullmatch(r"/pulls/(\d+)/files", rest):
            pr = self.pulls[int(m.group(1))]
            files = [
                {
                    "sha": "0" * 40,
                    "filename": f,
                    "status": "modified",
                    "additions": 1,
                    "deletions": 0,
                    "changes": 1,
                }
                for f in pr.files[:API_FILE_CAP]
            ]
            headers, chunk = self._page(path, query, files)
            return 200, headers, chunk
        if m := re.fullmatch(r"/pulls/(\d+)/commits", rest):
            pr = self.pulls[int(m.group(1))]
            headers, chunk = self._page(
                path, query, [self._commit_json(s, msg) for s, msg in pr.commits]
            )
            return 200, headers, chunk
        if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
            n = int(m.group(1))
            comments = self.comments.setdefault(n, [])
            if method == "POST":
                self._ids += 1
                c = {
                    "id": self._ids,
                    "issue": n,
                    "body": body["body"],
                    "user": BOT,
                    "created_at": now_iso(),
                    "updated_at": now_iso(),
                }
                comments.append(c)
                return 201, {}, self._comment_json(c)
            headers, chunk = self._page(path, query, [self._comment_json(c) for c in comments])
            return 200, headers, chunk
        if m := re.fullmatch(r"/issues/comments/(\d+)", rest):
            cid = int(m.group(1))
            c = next((c for cs in self.comments.values() for c in cs if c["id"] == cid), None)
            if c is None:
                return 404, {}, {"message": "Not Found"}
            if method == "PATCH":
                c["body"] = body["body"]
                c["updated_at"] = now_iso()
            return 200, {}, self._comment_json(c)
        if m := re.fullmatch(r"/issues/(\d+)/labels", rest):
            pr = self.pulls[int(m.group(1))]
            if method == "PUT":
                for name in body:
                    self.labels.setdefault(name, ("ededed", ""))
                pr.labels = list(dict.fromkeys(body))
            headers, chunk = self._page(path, query, [self._label_json(n) for n in pr.labels])
            return 200, headers, chunk
        if rest == "/labels":
            if method == "POST":
                if body["name"] in self.labels:
                    return (
                        422,
                        {},
                        {"message": "Validation Failed", "errors": [{"code": "already_exists"}]},
                    )
                self.labels[body["name"]] = (body["color"], body.get("description", ""))
                return 201, {}, self._label_json(body["name"])
            headers, chunk = self._page(path, query, [self._label_json(n) for n in self.labels])
            return 200, headers, chunk
        if m := re.fullmatch(r"/labels/(.+)", rest):
            name = unquote(m.group(1))
            if name not in self.labels:
                return 404, {}, {"message": "Not Found"}
            if method == "PATCH":
                new = body.get("new_name", name)
                old = self.labels.pop(name)
                self.labels[new] = (body.get("color", old[0]), body.get("description", old[1]))
                name = new
            return 200, {}, self._label_json(name)
        if m := re.fullmatch(r"/commits/([0-9a-f]{40})", rest):
            return 200, {}, self._commit_json(m.group(1))
        if m := re.fullmatch(r"/commits/([0-9a-f]{40})/status", rest):
            sha = m.group(1)
            latest: dict[str, dict[str, Any]] = {}
            for s in self.statuses.get(sha, []):
                latest[s["context"]] = s
            states = [s["state"] for s in latest.values()]
            overall = (
                "failure"
                if {"failure", "error"} & set(states)
                else "pending"
                if "pending" in states or not states
                else "success"
            )
            return (
                200,
                {},
                {
                    "state": overall,
                    "sha": sha,
                    "total_count": len(latest),
                    "statuses": list(latest.values())[::-1],
                    "repository": self._repo_json(),
                    "commit_url": f"{self.api}/commits/{sha}",
                    "url": f"{self.api}/commits/{sha}/status",
                },
            )
        if (m := re.fullmatch(r"/rules/branches/([^/]+)", rest)) and method == "GET":
            found = self.rules.get(m.group(1))
            return (200, {}, found) if found is not None else (404, {}, {"message": "Not Found"})
        m = re.fullmatch(r"/branches/([^/]+)/protection/required_status_checks", rest)
        if m and method == "GET":
            got = self.protection.get(m.group(1))
            return (200, {}, got) if got is not None else (404, {}, {"message": "Not Found"})
        if m := re.fullmatch(r"/commits/([0-9a-f]{40})/check-runs", rest):
            runs = self.check_runs.get(m.group(1), [])
            _headers, chunk = self._page(path, query, runs)
            return 200, _headers, {"total_count": len(runs), "check_runs": chunk}
        if (m := re.fullmatch(r"/statuses/([0-9a-f]{40})", rest)) and method == "POST":
            s = self._status(
                body["context"],
                body["state"],
                body.get("description", ""),
                body.get("target_url"),
            )
            self.statuses.setdefault(m.group(1), []).append(s)
            return 201, {}, s
        return 404, {}, {"message": f"fake GitHub has no route {method} {rest}"}


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, payload = fake.handle(
                self.command, parts.path, parse_qs(parts.query), body, headers
            )
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in {
                "X-RateLimit-Limit": "5000",
                "X-RateLimit-Remaining": "4999",
                **extra,
            }.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    return Handler
