"""`leo labels sync|move` and `leo publish` against the fake GitHub; GitHub App auth in-process."""

from __future__ import annotations

import json

import pytest

from leo.github.client import connect
from leo.github.labels import STATES
from leo.github.pull import read_pull


def _labels(w, *args):
    return w.leo("labels", *args, "--github-repo", "acme/widgets")


def test_labels_sync_creates_the_taxonomy_and_is_idempotent(world):
    w = world()
    w.fake.labels["gates-passing"] = ("000000", "old text")
    first = _labels(w, "sync")
    assert first.returncode == 0, first.stderr
    assert "updated gates-passing" in first.stdout and first.stdout.count("created") == 4
    assert {n: w.fake.labels[n] for n in w.fake.labels} == {
        s.name: (s.color, s.description) for s in STATES
    }
    writes = len([e for e in w.fake.log if e.method != "GET"])
    second = _labels(w, "sync")
    assert second.returncode == 0 and second.stdout.count("unchanged") == 5
    assert len([e for e in w.fake.log if e.method != "GET"]) == writes


def test_labels_move_refuses_an_illegal_transition(world):
    w = world(labels=("codex-building",))
    done = w.leo("labels", "move", "--pr", "7", "--github-repo", "acme/widgets", "ready-to-merge")
    assert done.returncode == 2
    assert "illegal label move codex-building → ready-to-merge" in done.stderr
    assert "allows only: claude-enforcing" in done.stderr
    assert not w.fake.requests("PUT", r"/labels$")
    assert w.fake.pulls[7].labels == ["codex-building"]
    ok = w.leo("labels", "move", "--pr", "7", "--github-repo", "acme/widgets", "claude-enforcing")
    assert ok.returncode == 0, ok.stderr
    assert w.fake.pulls[7].labels == ["claude-enforcing"]


def test_publish_a_saved_report_from_a_read_only_job(world, tmp_path):
    w = world()
    report = tmp_path / "leo-report.json"
    verified = w.verify("--output", str(report), publish=False)
    assert verified.returncode == 0, verified.stderr
    assert not w.fake.requests("POST", "/statuses/")
    done = w.leo(
        "publish",
        "--pr",
        "7",
        "--github-repo",
        "acme/widgets",
        "--report",
        str(report),
        "--unsigned",
    )
    assert done.returncode == 0, done.stderr
    assert w.fake.leo_statuses(w.head) == ["success"]
    assert len(w.fake.comments[7]) == 1
    # A push after the verification: the saved PASS is stale and never success.
    old = w.head
    new = w.push({"app.py": "x = 3\n"})
    again = w.leo(
        "publish",
        "--pr",
        "7",
        "--github-repo",
        "acme/widgets",
        "--report",
        str(report),
        "--unsigned",
    )
    assert again.returncode == 4, again.stderr
    assert w.fake.leo_statuses(old) == ["success", "error"]
    assert w.fake.leo_statuses(new) == []
    assert len(w.fake.comments[7]) == 1 and "stale verdict" in w.fake.comments[7][0]["body"]


def test_publish_without_a_report_sets_error(world, tmp_path):
    w = world()
    done = w.leo(
        "publish",
        "--pr",
        "7",
        "--github-repo",
        "acme/widgets",
        "--report",
        str(tmp_path / "none.json"),
        "--unsigned",
    )
    assert done.returncode == 4
    assert w.fake.leo_statuses(w.head) == ["error"]


def test_a_forged_report_for_another_repository_is_refused(world, tmp_path):
    w = world()
    report = tmp_path / "r.json"
    assert w.verify("--output", str(report), publish=False).returncode == 0
    doc = json.loads(report.read_text())
    doc["repository"] = "evil/fork"
    report.write_text(json.dumps(doc))
    done = w.leo(
        "publish",
        "--pr",
        "7",
        "--github-repo",
        "acme/widgets",
        "--report",
        str(report),
        "--unsigned",
    )
    assert done.returncode == 2 and "not acme/widgets" in done.stderr
    assert w.fake.leo_statuses(w.head) == []


def test_publish_needs_the_signed_verdict_and_refuses_an_edited_report(world, tmp_path):
    from leo.bundle import keys

    w = world()
    private, public, _ = keys.generate(tmp_path / "vsa")
    report, vsa = tmp_path / "r.json", tmp_path / "vsa.json"
    made = w.verify(
        "--output", str(report), "--attest", str(vsa), "--sign", f"key:{private}", publish=False
    )
    assert made.returncode == 0, made.stderr
    base = ("publish", "--pr", "7", "--github-repo", "acme/widgets", "--report", str(report))
    unsigned = w.leo(*base)
    assert unsigned.returncode == 2 and "needs the signed verdict" in unsigned.stderr
    assert w.fake.leo_statuses(w.head) == []
    doc = json.loads(report.read_text())
    good = report.read_text()
    doc["verdict"] = "FAIL" if doc["verdict"] == "PASS" else "PASS"
    report.write_text(json.dumps(doc))
    forged = w.leo(*base, "--attestation", str(vsa), "--key", str(public))
    assert forged.returncode == 4 and "differs from its signed verdict" in forged.stderr
    assert w.fake.leo_statuses(w.head) == ["error"]
    report.write_text(good)
    done = w.leo(*base, "--attestation", str(vsa), "--key", str(public))
    assert done.returncode == 0, done.stderr
    assert w.fake.leo_statuses(w.head) == ["error", "success"]


def test_github_app_installation_auth(world):
    rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    from cryptography.hazmat.primitives import serialization

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    w = world()
    w.fake.tokens = {"42": "token ghs_installation"}
    env = {
        "GITHUB_API_URL": w.fake.url,
        "LEO_GITHUB_APP_ID": "1234",
        "LEO_GITHUB_APP_PRIVATE_KEY": pem,
        "LEO_GITHUB_APP_INSTALLATION_ID": "42",
        "LEO_GITHUB_THROTTLE": "0",
    }
    pr = read_pull(connect(env), "acme/widgets", 7)
    assert pr.head_sha == w.head
    minted = w.fake.requests("POST", r"/app/installations/42/access_tokens$")
    assert minted and minted[0].auth.startswith("Bearer ")
    assert {e.auth for e in w.fake.requests("GET", r"/pulls/7")} == {"token ghs_installation"}


def test_app_auth_with_a_missing_key_is_one_sentence(world):
    from leo.errors import LeoError

    with pytest.raises(LeoError, match="LEO_GITHUB_APP_PRIVATE_KEY"):
        connect({"LEO_GITHUB_APP_ID": "1", "LEO_GITHUB_APP_INSTALLATION_ID": "2"})


def test_pr_only_options_need_pr(leo_cli):
    done = leo_cli("verify", "--publish")
    assert done.returncode == 2 and "need --pr N" in done.stderr
