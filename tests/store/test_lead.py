"""LEAD decisions need a reason, bind to the verified head, and flag an approval over a FAIL."""

from __future__ import annotations

import json

import pytest

from leo.errors import LeoError
from leo.store.repository import AuditStore

REASON = "The only failing check is a known flaky benchmark on this VM."


@pytest.fixture
def pr_repo(leo_repo):
    return leo_repo(base={"app.py": "x = 1\n"}, head={"app.py": "x = 2\n"})


def _verdict(url, repo, report_factory, verdict="CONDITIONAL_PASS", pr=5):
    head = _head(repo)
    with AuditStore.open(url) as store:
        store.record_verification(
            report_factory(verdict=verdict, head=head, repository=str(repo.path)), pr=pr
        )
    return head


def _head(repo):
    from leo.testing import git

    return git(repo.path, "rev-parse", "HEAD").strip()


def test_approval_without_reason_is_refused(store_url, pr_repo, report_factory, leo_cli):
    _verdict(store_url, pr_repo, report_factory)
    for args in ([], ["--reason", "ok"], ["--reason", "looks fine to me"]):
        done = leo_cli(
            "lead", "approve", "--pr", "5", *args, "--database-url", store_url, cwd=pr_repo.path
        )
        assert done.returncode == 2, done.stderr
        assert "needs a reason of at least one sentence" in done.stderr
        assert "Traceback" not in done.stderr
    with AuditStore.open(store_url) as store:
        assert store.decision_for(str(pr_repo.path), 5, _head(pr_repo)) is None


def test_approval_binds_to_the_head_and_shows_in_history(
    store_url, pr_repo, report_factory, leo_cli
):
    head = _verdict(store_url, pr_repo, report_factory)
    done = leo_cli(
        "lead",
        "approve",
        "--pr",
        "5",
        "--reason",
        REASON,
        "--actor",
        "lead-alice",
        "--database-url",
        store_url,
        cwd=pr_repo.path,
    )
    assert done.returncode == 0, done.stderr
    hist = leo_cli("history", "--pr", "5", "--format", "json", "--database-url", store_url)
    [entry] = json.loads(hist.stdout)
    assert entry["head_sha"] == head
    assert entry["decision"]["decision"] == "approve"
    assert entry["decision"]["actor"] == "lead-alice"
    assert entry["decision"]["reason"] == REASON
    assert entry["decision"]["override"] is False


def test_approval_for_an_older_head_is_not_applied_to_the_new_one(
    store_url, pr_repo, report_factory, leo_cli
):
    old = _verdict(store_url, pr_repo, report_factory)
    done = leo_cli(
        "lead",
        "approve",
        "--pr",
        "5",
        "--reason",
        REASON,
        "--database-url",
        store_url,
        cwd=pr_repo.path,
    )
    assert done.returncode == 0, done.stderr
    new = pr_repo.commit({"app.py": "x = 3\n"}, "push after approval")
    # Before the new head is verified, approving it is refused: nothing to answer.
    done = leo_cli(
        "lead",
        "approve",
        "--pr",
        "5",
        "--reason",
        REASON,
        "--database-url",
        store_url,
        cwd=pr_repo.path,
    )
    assert done.returncode == 2
    assert f"newest verdict for PR 5 is for head {old[:12]}" in done.stderr
    _verdict(store_url, pr_repo, report_factory)
    with AuditStore.open(store_url) as store:
        assert store.decision_for(str(pr_repo.path), 5, old) is not None
        assert store.decision_for(str(pr_repo.path), 5, new) is None
        newest, older = store.history(pr=5)
        assert (newest.head_sha, newest.decision) == (new, None)
        assert older.decision is not None
        # Re-using the old head's approval on the new verdict is refused too.
        with pytest.raises(LeoError, match="decision binds to the verified head"):
            store.record_decision(
                repository=str(pr_repo.path), pr=5, head_sha=old, decision="approve", reason=REASON
            )


def test_approving_a_fail_needs_override_and_is_flagged(
    store_url, pr_repo, report_factory, leo_cli
):
    _verdict(store_url, pr_repo, report_factory, verdict="FAIL")
    base = ("lead", "approve", "--pr", "5", "--reason", REASON, "--database-url", store_url)
    done = leo_cli(*base, cwd=pr_repo.path)
    assert done.returncode == 2
    assert "needs --override" in done.stderr
    done = leo_cli(*base, "--override", cwd=pr_repo.path)
    assert done.returncode == 0, done.stderr
    assert "FLAGGED" in done.stderr
    hist = leo_cli("history", "--pr", "5", "--database-url", store_url)
    assert "OVERRIDE over FAIL" in hist.stdout


def test_rejection_is_recorded(store_url, pr_repo, report_factory, leo_cli):
    _verdict(store_url, pr_repo, report_factory, verdict="PASS")
    done = leo_cli(
        "lead",
        "reject",
        "--pr",
        "5",
        "--reason",
        "The design does not match the agreed RFC.",
        "--database-url",
        store_url,
        cwd=pr_repo.path,
    )
    assert done.returncode == 0, done.stderr
    with AuditStore.open(store_url) as store:
        decision = store.decision_for(str(pr_repo.path), 5, _head(pr_repo))
    assert decision is not None and decision.decision == "reject" and decision.verdict == "PASS"


def test_decision_on_a_pr_without_verdict_is_refused(store_url, pr_repo, leo_cli):
    done = leo_cli(
        "lead",
        "reject",
        "--pr",
        "9",
        "--reason",
        REASON,
        "--database-url",
        store_url,
        cwd=pr_repo.path,
    )
    assert done.returncode == 2
    assert "PR 9" in done.stderr and "has no recorded verdict" in done.stderr
