"""Shared fixtures of LEO's own tests (the plugin-author fixtures live in leo.testing)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _private_audit_database(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`leo verify` records every verdict: tests write to a throw-away file, never the user's."""
    db = tmp_path_factory.mktemp("audit") / "audit.db"
    monkeypatch.setenv("LEO_DATABASE_URL", f"sqlite:///{db}")


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (CI has it; a user's fresh clone does not)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("needs ../shared/data beside the checkout (present in LEO's CI only)")
    return SHARED_DATA


@pytest.fixture
def leo_cli(monkeypatch: pytest.MonkeyPatch):
    """Run ``leo`` as a subprocess, as users do; returns CompletedProcess. SARIF it writes
    (``--format sarif``, to stdout or ``--output``) is checked against the OASIS schema."""
    import subprocess

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
    ):
        full_env = {**os.environ, **(env or {})}
        done = subprocess.run(
            [sys.executable, "-m", "leo", *args],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=full_env,
            timeout=timeout,
        )
        _check_sarif_written(args, done, cwd)
        return done

    return run


def _check_sarif_written(
    args: tuple[str, ...], done: subprocess.CompletedProcess[str], cwd: Path | None
) -> None:
    """The subprocess half of ``_every_sarif_is_valid``: the SARIF a ``leo`` run wrote."""
    import json

    if not SARIF_SCHEMA.is_file() or "sarif" not in _option_values(args, "--format"):
        return
    outputs = _option_values(args, "--output") + _option_values(args, "-o")
    text = (
        (cwd or Path.cwd()).joinpath(outputs[-1]).read_text(encoding="utf-8")
        if outputs and (cwd or Path.cwd()).joinpath(outputs[-1]).is_file()
        else done.stdout
    )
    if not text.strip():
        return  # the run stopped before a report (exit 2): nothing was rendered
    errors = sarif_errors(json.loads(text))
    assert not errors, errors


@pytest.fixture
def check_leo_sarif():
    """``_check_sarif_written``, so a test can show it catches invalid SARIF."""
    if not SARIF_SCHEMA.is_file():
        pytest.skip("needs ../shared/data/sarif-spec (the OASIS SARIF 2.1.0 schema)")
    return _check_sarif_written


def _option_values(args: tuple[str | Path, ...], option: str) -> list[str]:
    args = tuple(map(str, args))  # tests pass paths as they are
    values = [b for a, b in itertools.pairwise(args) if a == option]
    return values + [a.split("=", 1)[1] for a in args if a.startswith(f"{option}=")]


FIXTURE_PLUGINS = Path(__file__).resolve().parent / "fixture_plugins"


@pytest.fixture
def plugin_path(tmp_path: Path) -> dict[str, str]:
    """Environment with the fixture plugins importable and a real installed distribution,
    ``leo-fixture 1.2.3``, whose entry points (group ``leo``) name three of them."""
    site = tmp_path / "site"
    dist = site / "leo_fixture-1.2.3.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: leo-fixture\nVersion: 1.2.3\n")
    (dist / "entry_points.txt").write_text(
        "[leo]\n"
        "thirdparty = leo_fixture_thirdparty\n"
        "broken = leo_fixture_broken\n"
        "importerror = leo_fixture_importerror\n"
        "lanes = leo_fixture_lanes\n"
    )
    return {"PYTHONPATH": os.pathsep.join([str(site), str(FIXTURE_PLUGINS)])}


@pytest.fixture
def small_repo(leo_repo):
    """A repository whose head adds one Python file and changes another."""
    return leo_repo(
        base={"app.py": "def f():\n    return 1\n", "README.md": "hello\n"},
        head={"app.py": "def f():\n    return 2\n", "new.py": "X = 1\n"},
    )


@pytest.fixture
def agents(monkeypatch: pytest.MonkeyPatch):
    """The misbehaving sub-agents of ``fixture_plugins/leo_fixture_agents.py``."""
    monkeypatch.syspath_prepend(str(FIXTURE_PLUGINS))
    import leo_fixture_agents

    return leo_fixture_agents


@pytest.fixture(autouse=True, scope="session")
def _private_result_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep ``leo verify`` runs of the tests out of the user's result cache."""
    os.environ["LEO_CACHE_DIR"] = str(tmp_path_factory.mktemp("leo-cache"))


SARIF_SCHEMA = SHARED_DATA / "sarif-spec" / "sarif-2.1" / "schema" / "sarif-schema-2.1.0.json"


def sarif_errors(doc: object) -> list[str]:
    """Where ``doc`` breaks the OASIS SARIF 2.1.0 schema (read from ../shared/data)."""
    import json

    import jsonschema

    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


@pytest.fixture
def sarif_errors_of():
    """``sarif_errors``; skips unless the OASIS SARIF 2.1.0 schema is beside the checkout."""
    if not SARIF_SCHEMA.is_file():
        pytest.skip("needs ../shared/data/sarif-spec (the OASIS SARIF 2.1.0 schema)")
    return sarif_errors


@pytest.fixture(autouse=True)
def _every_sarif_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every SARIF a test renders in this process is checked against the OASIS schema."""
    if not SARIF_SCHEMA.is_file():
        return
    import json

    from leo.formats import sarif_format

    original = sarif_format.render

    def checked(report, **kwargs):  # type: ignore[no-untyped-def]
        text = original(report, **kwargs)
        errors = sarif_errors(json.loads(text))
        assert not errors, errors
        return text

    monkeypatch.setattr(sarif_format, "render", checked)
