"""LEO reads real GitHub payload shapes: PyGithub's recorded responses served on loopback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from leo.github import comment, gates, labels
from leo.github.client import ClientOptions, GitHubError, api, connect
from leo.github.pull import read_pull

sys.path.insert(0, str(Path(__file__).resolve().parent))

from replay import Replay

FAST = ClientOptions(timeout_s=10, retries=3, backoff_s=0.01, max_wait_s=5, throttle=False)


@pytest.fixture
def replay(shared_data):
    servers = []

    def start(*names: str, options: ClientOptions = FAST):
        folder = shared_data / "pygithub-replay"
        if not folder.is_dir():
            pytest.skip("needs ../shared/data/pygithub-replay")
        server = Replay(folder / f"{n}.txt" for n in names)
        servers.append(server)
        env = {"GITHUB_API_URL": server.url, "GITHUB_TOKEN": "private_token_removed"}
        return server, connect(env, options)

    yield start
    for s in servers:
        s.stop()


def test_reads_a_recorded_pull_request_its_files_and_commits(replay):
    _server, gh = replay(
        "PullRequest.setUp", "PullRequest.testGetFiles", "PullRequest.testGetCommits"
    )
    pr = read_pull(gh, "PyGithub/PyGithub", 31)
    assert pr.number == 31 and pr.state in ("open", "closed")
    assert len(pr.head_sha) == 40 and len(pr.base_sha) == 40
    assert pr.base_ref and pr.clone_url.endswith(".git")
    assert pr.files and pr.files_complete
    assert len(pr.files) == pr.changed_files
    assert pr.commits and all(len(c.sha) == 40 and c.message for c in pr.commits)


def test_reads_the_modern_recorded_pull_request(replay):
    _server, gh = replay("CompletableGithubObjectWithPaginatedProperty.testPullCommitsFilesDefault")
    repo = gh.get_repo("PyGithub/PyGithub")
    with api("reading"):
        pull = repo.get_pull(3370)
        assert len(pull.head.sha) == 40
        assert pull.base.repo.clone_url.startswith("https://")
        assert pull.changed_files >= 1


def test_reads_recorded_commit_statuses_and_check_runs(replay):
    _server, gh = replay("CommitCombinedStatus.setUp", "CheckRun.testGetCheckRunsForRef")
    sha = "74e70119a23fa3ffb3db19d4590eccfebd72b659"
    combined = gh.get_repo("edx/edx-platform").get_commit(sha).get_combined_status()
    seen = gates.from_statuses(combined.statuses)
    assert seen and all(o.state in ("passed", "failed", "pending") for o in seen)
    assert all(o.since is not None and o.since.tzinfo is not None for o in seen)
    runs = (
        gh.get_repo("PyGithub/PyGithub")
        .get_commit("10a7135a04f71e6101f8b013aded8a662d08fd1f")
        .get_check_runs()
    )
    observed = gates.from_check_runs(runs)
    assert len(observed) > 1
    assert {o.state for o in observed} <= {"passed", "failed", "pending"}
    evaluated = gates.evaluate([f"Some Workflow / {observed[0].name}"], observed, None)
    assert evaluated[0].state != "missing"


def test_reads_recorded_labels_and_comments(replay):
    _server, gh = replay("PullRequest.testGetLabels", "PullRequest.testGetIssueComments")
    names = labels.labels_of(gh, "PyGithub/PyGithub", 31)
    assert names == ["wip", "refactoring"]
    assert labels.current_state(names) is None
    assert comment.find_sticky(gh, "PyGithub/PyGithub", 31, "LEO Gate Validation") is None


def test_recorded_502s_are_retried_until_the_recorded_success(replay):
    server, gh = replay("Retry.testReturnsRepoAfter3Retries")
    with api("reading the repository"):
        assert gh.get_repo("PyGithub/PyGithub").id > 0
    assert [s for _v, _p, s in server.served] == [502, 502, 502, 200]


def test_recorded_502s_beyond_the_retries_are_a_github_error(replay):
    _server, gh = replay(
        "Retry.testRaisesRetryErrorAfterMaxRetries",
        options=ClientOptions(retries=2, backoff_s=0.01, max_wait_s=5, throttle=False),
    )
    with pytest.raises(GitHubError, match="after bounded retries"), api("reading the repository"):
        gh.get_repo("PyGithub/PyGithub").id  # noqa: B018


def test_recorded_secondary_rate_limit_beyond_the_cap_fails_fast(replay):
    import time

    server, gh = replay("SpecificExceptions.testAuthenticatedRateLimitExceeded")
    with api("searching"):
        gh.requester.requestJsonAndCheck("GET", "/search/code", {"q": "jacquev6"})
    started = time.monotonic()
    with pytest.raises(GitHubError, match="longer than the cap"), api("searching"):
        gh.requester.requestJsonAndCheck("GET", "/search/code", {"q": "jacquev6"})
    assert time.monotonic() - started < 5  # Retry-After: 60 was not slept
    assert [s for _v, _p, s in server.served] == [200, 403]


def test_recorded_bad_credentials_are_not_retried(replay):
    server, gh = replay("Exceptions.testBadAuthentication")
    with pytest.raises(GitHubError, match="HTTP 401"), api("reading the user"):
        gh.get_user().login  # noqa: B018
    assert len(server.served) == 1
