"""`leo verify --pr N` end to end: the real CLI and PyGithub against a fake GitHub on loopback."""

from __future__ import annotations

import time

import pytest

from leo.github.client import GitHubError

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


def test_second_run_edits_the_comment_instead_of_duplicating(world):
    w = world()
    first = w.verify()
    assert first.returncode == 0, first.stderr
    new_head = w.push({"ORACLE": "fail\n"})
    second = w.verify()
    assert second.returncode == 1, second.stderr
    comments = w.fake.comments[w.number]
    assert len(comments) == 1, [c["body"][:80] for c in comments]
    assert "FAIL" in comments[0]["body"] and new_head in comments[0]["body"]
    assert w.fake.requests("PATCH", r"/issues/comments/\d+$")
    assert len(w.fake.requests("POST", r"/issues/\d+/comments$")) == 1
    assert w.fake.leo_statuses(new_head) == ["pending", "failure"]
    # ready-to-merge → needs-revision: a PASS that a later push broke is taken back
    assert w.fake.pulls[w.number].labels == ["needs-revision"]


def test_fail_posts_failure_and_sends_the_pr_back(world):
    w = world(oracle="fail", labels=("claude-enforcing", "area/api"))
    assert w.verify_here().verdict == "FAIL"
    assert w.fake.leo_statuses(w.head) == ["pending", "failure"]
    assert w.fake.pulls[w.number].labels == ["area/api", "needs-revision"]


def test_conditional_pass_is_never_success(world):
    w = world(oracle="warn")
    assert w.verify_here().verdict == "CONDITIONAL_PASS"
    assert w.fake.leo_statuses(w.head) == ["pending", "pending"]
    # gates passed, so the PR moves to gates-passing and waits there for a LEAD
    assert w.fake.pulls[w.number].labels == ["gates-passing"]


def test_without_publish_nothing_is_written(world):
    w = world()
    assert w.verify_here(publish=False).verdict == "PASS"
    assert not [e for e in w.fake.log if e.method != "GET"]


def test_a_502_is_retried_and_the_run_succeeds(world):
    w = world()
    w.fake.fail("GET", r"/pulls/7$", 502, times=2)
    done = w.verify()
    assert done.returncode == 0, done.stderr
    statuses = [e.status for e in w.fake.requests("GET", r"/pulls/7$")]
    assert statuses[:3] == [502, 502, 200]
    assert w.fake.leo_statuses(w.head) == ["pending", "success"]


def test_a_comment_post_whose_response_is_lost_is_not_duplicated(world):
    w = world()
    # GitHub applies the POST but the client sees a 502: a blind retry would double-comment.
    w.fake.fail("POST", r"/issues/7/comments$", 502, apply=True)
    assert w.verify_here().verdict == "PASS"
    assert len(w.fake.comments[w.number]) == 1
    assert len(w.fake.requests("POST", r"/issues/7/comments$")) == 1


def test_a_rate_limited_403_with_retry_after_is_honoured(world):
    w = world()
    w.fake.fail(
        "GET",
        r"/pulls/7/files$",
        403,
        headers={"Retry-After": "1"},
        body={"message": "You have exceeded a secondary rate limit."},
    )
    done = w.verify()
    assert done.returncode == 0, done.stderr
    limited, retried = w.fake.requests("GET", r"/pulls/7/files$")[:2]
    assert limited.status == 403 and retried.status == 200
    assert retried.at - limited.at >= 1.0


def test_a_retry_after_beyond_the_cap_fails_fast_and_never_success(world):
    w = world()
    w.fake.fail(
        "GET",
        r"/check-runs$",
        403,
        headers={"Retry-After": "3600"},
        body={"message": "You have exceeded a secondary rate limit."},
    )
    started = time.monotonic()
    with pytest.raises(GitHubError, match="rate limited for 3600s"):
        w.verify_here()
    assert time.monotonic() - started < 30
    assert w.fake.leo_statuses(w.head) == ["pending", "error"]


def test_github_down_after_retries_leaves_no_success(world):
    w = world()
    w.fake.fail("GET", r"/commits/[0-9a-f]+/status$", 503, times=50)
    with pytest.raises(GitHubError, match="HTTP 503"):
        w.verify_here()
    assert "success" not in w.fake.leo_statuses(w.head)


def test_head_moved_during_the_run_posts_no_success(world):
    w = world()
    old = w.head
    moved: list[str] = []
    # The author pushes right after LEO posted pending on the old head.
    w.fake.on(
        "POST", rf"/statuses/{old}$", lambda fake: moved.append(w.push({"app.py": "x = 2\n"}))
    )
    done = w.verify()
    assert moved
    assert done.returncode == 4, done.stderr
    report = w.report(done)
    assert report["verdict"] == "ESCALATE"
    assert report["reasons"][0].startswith("stale verdict: the PR head moved")
    assert w.fake.leo_statuses(old) == ["pending", "error"]
    assert w.fake.leo_statuses(moved[0]) == []
    assert "stale verdict" in w.fake.comments[w.number][0]["body"]
    assert w.fake.pulls[w.number].labels == ["claude-enforcing"]


def test_a_failed_required_gate_fails_the_verdict(world):
    w = world(gates=False)
    w.fake.add_status(w.head, "Story Release Gate Check / Check Story Release Gate", "success")
    w.fake.add_check_run(w.head, "Verify SLSA Provenance", conclusion="failure")
    w.fake.add_check_run(w.head, "Validate Policy Bundle")
    report = w.verify_here()
    assert report.verdict == "FAIL"
    assert any("Verify SLSA Provenance failed" in r for r in report.reasons)
    assert w.fake.leo_statuses(w.head) == ["pending", "failure"]


def test_a_gate_pending_for_over_four_hours_escalates(world):
    w = world(gates=False)
    w.fake.add_status(w.head, "Story Release Gate Check / Check Story Release Gate", "success")
    w.fake.add_check_run(w.head, "Verify SLSA Provenance", status="in_progress", age_s=5 * 3600)
    w.fake.add_check_run(w.head, "Validate Policy Bundle")
    done = w.verify("--wait")
    assert done.returncode == 4, done.stderr
    report = w.report(done)
    assert report["verdict"] == "ESCALATE"
    assert any("more than 4 hours" in r and "LEAD" in r for r in report["reasons"])
    assert w.fake.leo_statuses(w.head) == ["pending", "error"]


def test_wait_polls_until_a_pending_gate_finishes(world):
    w = world(gates=False)
    w.fake.add_status(w.head, "Story Release Gate Check / Check Story Release Gate", "pending")
    w.fake.add_check_run(w.head, "Verify SLSA Provenance")
    w.fake.add_check_run(w.head, "Validate Policy Bundle")
    w.fake.on(
        "GET",
        r"/check-runs$",
        lambda fake: fake.add_status(
            w.head, "Story Release Gate Check / Check Story Release Gate", "success"
        ),
    )
    assert w.verify_here(wait=True).verdict == "PASS"
    assert len(w.fake.requests("GET", r"/check-runs$")) >= 2
    assert w.fake.leo_statuses(w.head) == ["pending", "success"]


def test_a_pending_gate_without_wait_is_not_a_pass(world):
    w = world(gates=False)
    w.fake.add_status(w.head, "Story Release Gate Check / Check Story Release Gate", "pending")
    assert w.verify_here().verdict == "ESCALATE"
    assert "success" not in w.fake.leo_statuses(w.head)


def test_a_pr_too_large_for_the_api_fails_closed(world):
    w = world()
    w.fake.pulls[w.number].files = [f"gen/f{i}.txt" for i in range(3001)]
    report = w.verify_here()
    assert report.verdict == "FAIL"
    assert any("not fully analysed" in r for r in report.reasons)
    assert w.fake.leo_statuses(w.head) == ["pending", "failure"]


def test_an_unknown_pr_is_one_clear_sentence(world):
    w = world()
    done = w.leo(
        "verify",
        "--pr",
        "99",
        "--github-repo",
        "acme/widgets",
        "--agents",
        "oracle",
        "-p",
        "leo_oracle_plugin",
    )
    assert done.returncode == 4
    assert "pull request #99 of acme/widgets not found" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_credentials_are_reported_clearly(world):
    w = world()
    with pytest.raises(GitHubError, match="HTTP 401") as exc:
        w.verify_here(env={"GITHUB_TOKEN": "wrong"})
    assert "wrong" not in str(exc.value)


def test_a_rogue_success_posted_by_someone_else_is_overwritten(world):
    w = world(oracle="fail")
    # The builder lane (any write token) posts LEO's context as success itself.
    w.fake.add_status(w.head, "LEO Gate Validation", "success")
    assert w.verify_here().verdict == "FAIL"
    assert w.fake.leo_statuses(w.head) == ["success", "pending", "failure"]


def test_a_429_with_an_exhausted_quota_waits_for_the_reset(world):
    w = world()
    reset = str(int(time.time()) + 1)
    w.fake.fail(
        "GET",
        r"/pulls/7/commits$",
        429,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
        body={"message": "API rate limit exceeded"},
    )
    assert w.verify_here(publish=False).verdict == "PASS"
    limited, retried = w.fake.requests("GET", r"/pulls/7/commits$")[:2]
    assert limited.status == 429 and retried.status == 200
    assert retried.at - limited.at >= 1.0


def test_a_403_that_is_not_a_rate_limit_is_not_retried(world):
    w = world()
    w.fake.fail(
        "GET",
        r"/pulls/7$",
        403,
        times=5,
        body={"message": "Resource not accessible by integration"},
    )
    with pytest.raises(GitHubError, match="HTTP 403: Resource not accessible"):
        w.verify_here()
    assert len(w.fake.requests("GET", r"/pulls/7$")) == 1
    assert w.fake.leo_statuses(w.head) == []


def test_observers_see_the_final_report_named_and_marked_stale(world):
    import os

    import anyio

    import leo
    from leo.github.verify import verify_pull_request
    from leo.plugins import load_plugins

    seen = []

    class Observer:
        @leo.hookimpl
        def leo_verification_finished(self, report):
            seen.append(report)

    w = world()
    old = w.head
    w.fake.on("POST", rf"/statuses/{old}$", lambda fake: w.push({"app.py": "x = 2\n"}))
    plugins = load_plugins(["leo_oracle_plugin"], extra={"observer": Observer()})

    async def main():
        return await verify_pull_request(
            w.number,
            plugins=plugins,
            requested=["oracle"],
            github_repo=w.fake.repository,
            publish=True,
            env={**os.environ, **w.env},
        )

    report, _warnings = anyio.run(main)
    [observed] = seen
    assert observed.repository == w.fake.repository
    assert observed.verdict == report.verdict == "ESCALATE"
    assert any(r.name == "head unchanged" and r.met is None for r in observed.requirements)
