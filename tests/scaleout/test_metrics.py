"""Prometheus metrics: the file parses with prometheus-client's parser, accumulates, and a
Pushgateway or scrape endpoint gets the same metrics; a monitoring outage never changes a verdict."""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from leo.metrics import LeoMetrics

DASHBOARD = Path(__file__).resolve().parents[2] / "observability" / "grafana" / "leo.json"
ISSUE_METRICS = {
    "leo_verification_duration_seconds",
    "leo_subagent_duration_seconds",
    "leo_verdicts",
    "leo_confidence",
    "leo_subagent_errors",
    "leo_findings",
    "leo_gate_pending_seconds",
    "leo_github_api_calls",
    "leo_github_api_retries",
    "leo_store_write_seconds",
}


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(fams: dict, sample: str) -> dict:
    return {
        tuple(sorted(s.labels.items())): s.value
        for f in fams.values()
        for s in f.samples
        if s.name == sample
    }


def test_metrics_file_parses_and_accumulates_across_runs(fixture_repo, tmp_path, scale):
    repo = fixture_repo(select=("fine", "minor", "crash"))
    out = tmp_path / "textfile" / "leo.prom"
    for _ in range(2):
        proc = scale.leo(
            "verify",
            "--repo",
            str(repo.path),
            "--base",
            "main",
            "-q",
            "--metrics-file",
            str(out),
            *scale.FIXTURES,
            env=scale.ENV,
        )
        assert proc.returncode == 1, proc.stderr  # crash is missing evidence: FAIL
    fams = families(out.read_text())
    assert set(fams) >= ISSUE_METRICS
    assert samples(fams, "leo_verdicts_total") == {(("verdict", "FAIL"),): 2.0}
    errors = samples(fams, "leo_subagent_errors_total")
    assert errors == {(("agent", "crash"), ("kind", "error")): 2.0}
    findings = samples(fams, "leo_findings_total")
    assert findings[(("agent", "minor"), ("blocking", "true"), ("severity", "medium"))] == 2.0
    counts = samples(fams, "leo_subagent_duration_seconds_count")
    assert counts[(("agent", "fine"), ("status", "passed"))] == 2.0
    assert samples(fams, "leo_confidence_count") == {(): 2.0}
    assert not list(out.parent.glob(".leo.prom.*[!k]"))  # no temporary file left behind


def test_dashboard_references_only_metrics_leo_exports():
    exported = set()
    for family in LeoMetrics().registry.collect():
        suffixes = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_sum", "_count"),
            "gauge": ("",),
        }[family.type]
        exported |= {family.name + s for s in suffixes}
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\bleo_[a-z_]+", e)}
    assert used and used <= exported, used - exported
    # every metric the issue asks for is on the dashboard
    assert {n for n in ISSUE_METRICS if any(u.startswith(n) for u in used)} == ISSUE_METRICS


class _Gateway(http.server.BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_PUT(self):
        self.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_pushgateway_receives_the_metrics(fixture_repo, scale):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        repo = fixture_repo(select=("fine",))
        url = f"http://127.0.0.1:{server.server_port}"
        proc = scale.leo(
            "verify",
            "--repo",
            str(repo.path),
            "--base",
            "main",
            "-q",
            "--pushgateway",
            url,
            *scale.FIXTURES,
            env=scale.ENV,
        )
        assert proc.returncode == 0, proc.stderr
    finally:
        server.shutdown()
    [body] = _Gateway.bodies
    fams = families(body.decode())
    assert samples(fams, "leo_verdicts_total") == {(("verdict", "PASS"),): 1.0}


def test_an_unreachable_or_hanging_pushgateway_is_a_warning_not_a_verdict(fixture_repo, scale):
    import socket

    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(1)  # accepts the connection, never answers
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    repo = fixture_repo(select=("fine",))
    try:
        for port in (closed_port, hanging.getsockname()[1]):
            start = time.monotonic()
            proc = scale.leo(
                "verify",
                "--repo",
                str(repo.path),
                "--base",
                "main",
                "-q",
                "--pushgateway",
                f"http://127.0.0.1:{port}",
                *scale.FIXTURES,
                env=scale.ENV,
            )
            assert proc.returncode == 0
            assert "could not push metrics" in proc.stderr and "the verdict stands" in proc.stderr
            assert time.monotonic() - start < 60
    finally:
        hanging.close()


def test_metrics_serve_exposes_the_metrics_files(tmp_path):
    prom = tmp_path / "leo.prom"
    prom.write_text(
        "# HELP leo_verdicts Verifications by verdict.\n# TYPE leo_verdicts counter\n"
        'leo_verdicts_total{verdict="PASS"} 3.0\n'
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "leo",
            "metrics",
            "serve",
            "--port",
            "0",
            "--metrics-file",
            str(prom),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        url = re.search(r"http://\S+", line).group(0)
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert samples(families(text), "leo_verdicts_total") == {(("verdict", "PASS"),): 3.0}


def test_the_api_for_github_and_store_records_into_leo_metrics():
    from leo import metrics as m

    m.observe_github_call("get", "/repos/{owner}/{repo}/pulls/{number}", 200)
    m.observe_github_retry("rate_limit")
    m.observe_store_write(0.004, "postgres")
    reg = m.metrics().registry
    labels = {"method": "GET", "route": "/repos/{owner}/{repo}/pulls/{number}", "status": "200"}
    assert reg.get_sample_value("leo_github_api_calls_total", labels) >= 1
    assert reg.get_sample_value("leo_github_api_retries_total", {"reason": "rate_limit"}) >= 1
    assert reg.get_sample_value("leo_store_write_seconds_count", {"backend": "postgres"}) >= 1


def test_ci_examples_run_every_builtin_agent_then_aggregate():
    yaml = __import__("pytest").importorskip("yaml")
    root = DASHBOARD.parents[2] / "examples" / "ci"
    gha = yaml.safe_load((root / "github-actions.yml").read_text())
    assert gha["jobs"]["agent"]["strategy"]["matrix"]["agent"] == [
        "security",
        "database",
        "testing",
        "performance",
        "design",
    ]
    assert gha["jobs"]["verdict"]["needs"] == "agent"
    steps = " ".join(s.get("run", "") for s in gha["jobs"]["verdict"]["steps"])
    assert "leo aggregate" in steps
    gitlab = yaml.safe_load((root / "gitlab-ci.yml").read_text())
    assert "leo aggregate" in " ".join(gitlab["leo-verdict"]["script"])
    assert "leo agent run" in " ".join(gitlab["leo-agent"]["script"])
