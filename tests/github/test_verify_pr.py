"""`leo verify --pr N` end to end: the real CLI and PyGithub against a fake GitHub on loopback."""

from __future__ import annotations

MARKER = "<!-- leo:sticky-report context='LEO Gate Validation' -->"


def test_pass_posts_pending_then_success_on_the_head_sha(world):
    w = world()
    done = w.verify()
    assert done.returncode == 0, done.stderr
    report = w.report(done)
    assert report["verdict"] == "PASS"
    assert report["head_sha"] == w.head
    assert report["repository"] == "acme/widgets"
    assert w.fake.leo_statuses(w.head) == ["pending", "success"]
    comments = w.fake.comments[w.number]
    assert len(comments) == 1 and comments[0]["body"].startswith(MARKER)
    assert "PASS" in comments[0]["body"]
    assert w.fake.pulls[w.number].labels == ["ready-to-merge"]
    # every request carried the token
    assert {e.auth for e in w.fake.log} == {"token ghp_test_token"}
