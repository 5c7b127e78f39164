"""The real-world corpus runner (benchmarks/realworld/run.py), CI-sized: one tiny release pair
and two planted defects from committed fixtures, no network."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "benchmarks" / "realworld"
FIXTURES = CORPUS / "fixtures"


@pytest.fixture(scope="module")
def corpus():
    spec = importlib.util.spec_from_file_location("realworld_run", CORPUS / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def _sdist(version: str, into: Path) -> tuple[str, str]:
    """Pack the fixture package as an sdist would be; return its file name and sha256."""
    name = f"tinypkg-{version}.tar.gz"
    with tarfile.open(into / name, "w:gz") as tar:
        tar.add(FIXTURES / f"tinypkg-{version}", arcname=f"tinypkg-{version}")
    return name, hashlib.sha256((into / name).read_bytes()).hexdigest()


@pytest.fixture
def manifest(tmp_path: Path) -> tuple[Path, Path]:
    """A cache holding the two sdists, and a cases.toml pinning them (no download needed)."""
    cache = tmp_path / "cache"
    (cache / "sdists").mkdir(parents=True)
    pins = {v: _sdist(v, cache / "sdists") for v in ("1.0", "1.1")}
    uploaded = {"1.0": "2024-02-18T03:55:57Z", "1.1": "2024-06-17T23:40:11Z"}
    cases = tmp_path / "cases.toml"
    cases.write_text(
        "[sdists]\n"
        + "".join(
            f'"tinypkg=={v}" = {{ file = "{f}", sha256 = "{h}", uploaded = "{uploaded[v]}" }}\n'
            for v, (f, h) in pins.items()
        )
        + '[[release]]\nid = "tinypkg-1.0-to-1.1"\nbase = "tinypkg==1.0"\nhead = "tinypkg==1.1"\n'
    )
    return cache, cases


def test_corpus_runner_passes_the_release_catches_both_planted_defects_and_writes_the_table(
    corpus, manifest, tmp_path
):
    cache, cases = manifest
    results_md = tmp_path / "RESULTS.md"
    results_md.write_text(f"# results\n\nkept\n\n{corpus.START}\nold table\n{corpus.END}\n")

    code = corpus.main(
        [
            "--cache", str(cache), "--manifest", str(cases),
            "--planted", str(FIXTURES / "smoke-planted.toml"),
            "--agents", "security,design", "--results-md", str(results_md),
            "--resolve-as-of", "release",
        ]
    )  # fmt: skip

    assert code == 0
    rows = {p.stem: json.loads(p.read_text()) for p in (cache / "results").glob("*.json")}
    assert set(rows) == {
        "tinypkg-1.0-to-1.1",
        "smoke-sec-cwe78-shell",
        "smoke-design-remove-function",
    }
    assert not any(r["crashed"] for r in rows.values())
    assert rows["tinypkg-1.0-to-1.1"]["verdict"] == "PASS"
    # the test dependencies as of the end of the head's upload day (planted: the host's)
    assert rows["tinypkg-1.0-to-1.1"]["resolve_as_of"] == "2024-06-18T00:00:00Z"
    assert (cache / "policies" / "tinypkg-1.0-to-1.1.toml").read_text() == (
        '[agents.testing]\nresolve_as_of = "2024-06-18T00:00:00Z"\nmax_environments = 300\n'
    )
    assert rows["smoke-sec-cwe78-shell"]["resolve_as_of"] == "2024-06-18T00:00:00Z"
    shell = rows["smoke-sec-cwe78-shell"]
    assert shell["verdict"] != "PASS"
    assert "security.bandit.B602" in shell["agents"]["security"]["rules"]
    assert shell["naive"]["verdict"] == "FAIL"
    assert [h.split()[0] for h in shell["naive"]["high"]] == ["B602"]
    removal = rows["smoke-design-remove-function"]
    assert removal["verdict"] != "PASS"
    assert removal["agents"]["design"]["status"] != "passed"
    assert removal["naive"]["verdict"] == "PASS", "bandit alone misses an API break"
    text = results_md.read_text()
    assert text.startswith("# results\n\nkept\n") and "old table" not in text
    assert "| planted defects PASSed (missed) | 0/2 (0%) | 1/2 (50%) | 0 |" in text
    assert "| releases FAILed (false alarms) | 0/1 (0%) | 0/1 (0%) | ≤ 10% |" in text

    # Resume: a second run finds every result and runs nothing again.
    before = {p: p.stat().st_mtime_ns for p in (cache / "results").glob("*.json")}
    assert corpus.main(
        [
            "--cache", str(cache), "--manifest", str(cases),
            "--planted", str(FIXTURES / "smoke-planted.toml"),
            "--agents", "security,design", "--no-write", "--resolve-as-of", "release",
        ]
    ) == 0  # fmt: skip
    assert before == {p: p.stat().st_mtime_ns for p in (cache / "results").glob("*.json")}


def test_a_case_resolves_as_of_the_end_of_its_head_releases_upload_day(corpus, tmp_path):
    cases = tmp_path / "cases.toml"
    cases.write_text(
        '[sdists]\n"p==1" = { file = "p-1.tar.gz", sha256 = "0", uploaded = "2024-02-18T03:55:57Z" }\n'
        '"p==2" = { file = "p-2.tar.gz", sha256 = "0", uploaded = "2024-06-17T13:40:11+02:00" }\n'
        '[[release]]\nid = "forward"\nbase = "p==1"\nhead = "p==2"\n'
        '[[reverse]]\nid = "reverse"\nbase = "p==2"\nhead = "p==1"\nabout = "CVE-0"\n'
    )
    planted = tmp_path / "planted.toml"
    planted.write_text('[[planted]]\nid = "planted"\nhost = "p==1"\nagent = "testing"\n')
    _sdists, found = corpus.load_manifest(cases, planted)
    assert {c.id: c.resolve_as_of for c in found} == {
        "forward": "2024-06-18T00:00:00Z",
        "reverse": "2024-02-19T00:00:00Z",
        "planted": "2024-02-19T00:00:00Z",
    }

    # never earlier than the release of the Python the tests run on
    assert corpus.end_of_day("2019-05-01T10:00:00Z") == corpus.PYTHON_RELEASED[sys.version_info[:2]]

    assert corpus.parse_args([]).resolve_as_of == "release"
    # The release's day is the default; --resolve-as-of today drops the date, and a result
    # measured before cases had dates keeps its key; a date is part of the key.
    forward = found[0]
    today = dataclasses.replace(forward, resolve_as_of="")
    fields = {k: v for k, v in today.__dict__.items() if k != "resolve_as_of"}
    old_key = hashlib.sha256(json.dumps([fields, "x"], sort_keys=True, default=str).encode())
    assert today.key("x") == old_key.hexdigest()[:16] != forward.key("x")

    cases.write_text(cases.read_text().replace(', uploaded = "2024-02-18T03:55:57Z"', ""))
    with pytest.raises(corpus.CorpusError, match="'p==1' pins no valid upload time"):
        corpus.load_manifest(cases, planted)


def test_an_sdist_that_does_not_match_its_pinned_sha256_is_refused(corpus, manifest):
    cache, cases = manifest
    sdists, found = corpus.load_manifest(cases, None)
    target = cache / "sdists" / sdists["tinypkg==1.1"].file
    target.write_bytes(target.read_bytes() + b"\0")

    with pytest.raises(corpus.CorpusError, match=r"has sha256 \w+, the manifest pins"):
        corpus.build_repo(found[0], sdists, cache)


def test_a_planted_edit_that_no_longer_applies_is_an_error_not_a_silent_no_op(
    corpus, manifest, tmp_path
):
    cache, cases = manifest
    planted = tmp_path / "planted.toml"
    planted.write_text(
        '[[planted]]\nid = "p"\nhost = "tinypkg==1.0"\nagent = "design"\n'
        '[[planted.head_edits]]\npath = "src/tinypkg/__init__.py"\nold = "not there"\nnew = "x"\n'
    )
    sdists, found = corpus.load_manifest(cases, planted)

    with pytest.raises(corpus.CorpusError, match="occurs 0 times"):
        corpus.build_repo(next(c for c in found if c.id == "p"), sdists, cache)


def test_the_committed_corpus_meets_the_issues_size_and_spread(corpus):
    _sdists, cases = corpus.load_manifest(CORPUS / "cases.toml", CORPUS / "planted.toml")
    kinds = [c.kind for c in cases]
    planted_agents = {c.agent for c in cases if c.kind == "planted"}

    assert kinds.count("release") >= 30
    assert kinds.count("planted") >= 30
    assert kinds.count("reverse") >= 5
    assert planted_agents == {"security", "database", "testing", "performance", "design"}
    assert all("CVE-" in c.about for c in cases if c.kind == "reverse")
    assert all(c.resolve_as_of.startswith("20") for c in cases)
