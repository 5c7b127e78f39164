"""Hold the line on real releases (issue 18): what the base already had does not block.

Each test is a small real repository modelled on a release that FAILed a real-world corpus case
(benchmarks/realworld/), run through the real scanners; each has a counterpart that must still
block, so the calibration cannot become a way around the gate.
"""

from __future__ import annotations

from leo_security import SecurityAgent
from leo_security.secrets import RANK

from leo.testing import make_repo, run_agents

NO_SEMGREP = {"agents": {"security": {"skip": ["semgrep", "zizmor"]}}}

PAGER = """\
import subprocess


def pipepager(generator, cmd, env):
    c = subprocess.Popen(cmd, shell=True, stdin=subprocess.PIPE, env=env)
    for text in generator:
        c.stdin.write(text)
"""
# click 8.1.8: the same call, reformatted over lines with a trailing comma.
PAGER_REFORMATTED = """\
import subprocess


def pipepager(generator, cmd, env):
    c = subprocess.Popen(
        cmd,
        shell=True,
        stdin=subprocess.PIPE,
        env=env,
    )
    for text in generator:
        c.stdin.write(text)
"""
# click 8.1.8 as released: the command resolved through ``which`` first, more keywords.
PAGER_CLICK_818 = """\
import subprocess
from shutil import which


def pipepager(generator, cmd, env):
    cmd_absolute = which(cmd)
    if cmd_absolute is None:
        return False
    c = subprocess.Popen(
        [cmd_absolute],
        shell=True,
        stdin=subprocess.PIPE,
        env=env,
        errors="replace",
        text=True,
    )
    for text in generator:
        c.stdin.write(text)
    return True
"""


def _security(tmp_path, base, head, config=None):
    repo = make_repo(tmp_path, base=base, head=head)
    return run_agents(repo.change(), [SecurityAgent], config=config)


def _blocking(run, rule):
    return [f for f in run.findings if f.rule_id == rule and f.on_changed_line]


def test_a_call_reformatted_over_several_lines_is_not_new(tmp_path):
    """The AST of the statement is the fingerprint: line breaks, trailing commas do not count."""
    run = _security(tmp_path, {"pager.py": PAGER}, {"pager.py": PAGER_REFORMATTED})
    security = run.agent("security")
    assert security.status == "passed", [f for f in security.findings if f.on_changed_line]
    old = run.assert_finding("security.bandit.B602", path="pager.py")
    assert "pre-existing: the base already had it" in old.message


def test_an_edited_call_in_the_same_function_keeps_its_base_finding(tmp_path):
    """click 8.1.7 -> 8.1.8: the release changed the arguments of an old ``shell=True`` call;
    bandit and semgrep both flagged it, the base had both in the same function."""
    run = _security(tmp_path, {"pager.py": PAGER}, {"pager.py": PAGER_CLICK_818})
    security = run.agent("security")
    assert security.status == "passed", [f for f in security.findings if f.on_changed_line]
    old = run.assert_finding("security.bandit.B602", path="pager.py")
    assert "in `pipepager`, which the change edited" in old.message
    assert security.details["pre_existing"] >= 2  # bandit's and semgrep's


def test_code_moved_to_another_function_is_not_new(tmp_path):
    moved = PAGER.replace("def pipepager(", "def helper():\n    return 1\n\n\ndef page(")
    run = _security(tmp_path, {"pager.py": PAGER}, {"pager.py": moved}, NO_SEMGREP)
    assert run.agent("security").status == "passed"


def test_a_second_shell_call_in_the_same_function_is_new(tmp_path):
    twice = PAGER_CLICK_818.replace(
        "    return True\n", "    subprocess.run(cmd, shell=True)\n    return True\n"
    )
    run = _security(tmp_path, {"pager.py": PAGER}, {"pager.py": twice}, NO_SEMGREP)
    assert len(_blocking(run, "security.bandit.B602")) == 1
    run.assert_verdict("FAIL")


def test_a_literal_shell_command_made_non_literal_is_new(tmp_path):
    """Same rule, same function, but bandit rates a constant command low and a variable one
    high: the severity is part of the fingerprint, so the injection is new."""
    base = PAGER.replace("Popen(cmd, shell=True", 'Popen("less", shell=True')
    run = _security(tmp_path, {"pager.py": base}, {"pager.py": PAGER})
    assert _blocking(run, "security.bandit.B602")
    assert _blocking(run, "security.semgrep.subprocess-shell-with-non-literal-command")
    run.assert_verdict("FAIL")


def test_the_same_call_in_a_new_function_is_new(tmp_path):
    added = PAGER + "\n\ndef run(cmd):\n    subprocess.run(cmd, shell=True)\n"
    run = _security(tmp_path, {"pager.py": PAGER}, {"pager.py": added}, NO_SEMGREP)
    blocking = _blocking(run, "security.bandit.B602")
    assert [f.line for f in blocking] == [11]
    run.assert_verdict("FAIL")


SUPPORT = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


def test_a_test_module_renamed_into_the_package_gates_like_new_code(tmp_path):
    """Round-4 red team: its shell call was test context at the base; renamed, no line changed."""
    base = {"tests/test_support.py": SUPPORT}
    run = _security(tmp_path, base, {"tests/test_support.py": None, "app/tools.py": SUPPORT})
    blocking = _blocking(run, "security.bandit.B602")
    assert [(f.path, f.severity) for f in blocking] == [("app/tools.py", "high")]
    assert "moved this file out of test code" in blocking[0].message
    run.assert_verdict("FAIL")


def test_a_test_module_renamed_to_another_test_module_stays_context(tmp_path):
    base = {"tests/test_support.py": SUPPORT}
    head = {"tests/test_support.py": None, "tests/test_helpers.py": SUPPORT}
    _security(tmp_path, base, head, NO_SEMGREP).assert_verdict("PASS")


def test_a_module_renamed_within_the_package_keeps_its_old_findings_old(tmp_path):
    base = {"app/support.py": SUPPORT}
    head = {"app/support.py": None, "app/tools.py": SUPPORT}
    _security(tmp_path, base, head, NO_SEMGREP).assert_verdict("PASS")


WORKFLOW = """\
name: main
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v3
        with:
          persist-credentials: false
      - run: python -m pytest
"""


def test_workflow_findings_the_base_had_are_context(tmp_path):
    """pluggy 1.5.0 / python-dateutil 2.9.0: editing a workflow that never had a permissions
    block, or bumping an action's tag, does not introduce either finding."""
    edited = WORKFLOW.replace("checkout@v3", "checkout@v4").replace(
        "python -m pytest", "python -m pytest -q"
    )
    run = _security(tmp_path, {".github/workflows/main.yml": WORKFLOW},
                    {".github/workflows/main.yml": edited})  # fmt: skip
    security = run.agent("security")
    assert security.status == "passed", [f for f in security.findings if f.on_changed_line]
    old = run.assert_finding("security.zizmor.excessive-permissions")
    assert "pre-existing" in old.message
    assert "pre-existing" in run.assert_finding("security.zizmor.unpinned-uses").message


def test_a_renamed_workflow_job_keeps_its_old_findings_old(tmp_path):
    """tenacity 8.3.0 renamed its release job ``test`` to ``publish`` and bumped its actions'
    tags: the job's missing permissions block and tag-pinned actions were the base's."""
    renamed = WORKFLOW.replace("  test:", "  publish:").replace("checkout@v3", "checkout@v4")
    run = _security(tmp_path, {".github/workflows/main.yml": WORKFLOW},
                    {".github/workflows/main.yml": renamed})  # fmt: skip
    assert run.agent("security").status == "passed", [f for f in run.findings if f.on_changed_line]
    assert "pre-existing" in run.assert_finding("security.zizmor.unpinned-uses").message
    # Hostile twins: the renamed job with a second third-party action still adds one ...
    grown = renamed + "      - uses: codecov/codecov-action@v4\n"
    run = _security(tmp_path / "grown", {".github/workflows/main.yml": WORKFLOW},
                    {".github/workflows/main.yml": grown})  # fmt: skip
    assert [f.line for f in _blocking(run, "security.zizmor.unpinned-uses")] == [11]
    # ... and a new job in place of a deleted one is new, whatever it is called.
    other = WORKFLOW.split("  test:")[0] + PUBLISH_JOB
    run = _security(tmp_path / "other", {".github/workflows/main.yml": WORKFLOW},
                    {".github/workflows/main.yml": other})  # fmt: skip
    assert _blocking(run, "security.zizmor.unpinned-uses")


PUBLISH_JOB = """\
  publish:
    runs-on: ubuntu-latest
    environment: release
    steps:
      - uses: pypa/gh-action-pypi-publish@release/v1
        with:
          password: ${{ secrets.PYPI_TOKEN }}
          repository-url: https://upload.pypi.org/legacy/
"""


def test_a_new_unpinned_action_asks_a_lead(tmp_path):
    """A new third-party action on a tag is hardening for a LEAD to weigh (medium), not a FAIL."""
    added = WORKFLOW + "      - uses: codecov/codecov-action@v4\n"
    run = _security(tmp_path, {".github/workflows/main.yml": WORKFLOW},
                    {".github/workflows/main.yml": added})  # fmt: skip
    new = _blocking(run, "security.zizmor.unpinned-uses")
    assert [(f.line, f.severity) for f in new] == [(11, "medium")]
    assert run.agent("security").status == "warned"
    run.assert_verdict("CONDITIONAL_PASS")  # a LEAD must accept it


def test_a_new_workflow_with_a_template_injection_still_fails(tmp_path):
    injected = WORKFLOW.replace(
        "python -m pytest", "echo ${{ github.event.pull_request.title }}"
    ).replace("on: [push]", "on: [pull_request_target]")
    run = _security(tmp_path, {"README.md": "x\n"}, {".github/workflows/main.yml": injected})
    run.assert_verdict("FAIL")


SIGNER = '''\
import hashlib
import hmac


def _lazy_sha1(string=b""):
    """Don't access hashlib.sha1 until runtime: FIPS builds may not include SHA-1."""
    return hashlib.sha1(string)


class Signer:
    digest_method = staticmethod(_lazy_sha1)

    def sign(self, key, value):
        return hmac.new(key, value, digestmod=self.digest_method).digest()
'''


def test_a_lazy_hash_constructor_passed_as_a_value_does_not_block(tmp_path):
    """itsdangerous 2.2.0 / flask 3.0.3 replaced ``staticmethod(hashlib.sha1)`` (which no
    scanner flags) by a lazy wrapper used as an HMAC digest."""
    base = SIGNER.replace("staticmethod(_lazy_sha1)", "staticmethod(hashlib.sha1)")
    base = base.replace(SIGNER[SIGNER.index("def _lazy") : SIGNER.index("class")], "")
    run = _security(tmp_path, {"signer.py": base}, {"signer.py": SIGNER})
    security = run.agent("security")
    assert security.status == "passed", [f for f in security.findings if f.on_changed_line]
    lowered = run.assert_finding("security.bandit.B324", path="signer.py")
    assert lowered.severity == "low" and "lazy lookup" in lowered.message


def test_a_lazy_hash_constructor_called_on_data_still_blocks(tmp_path):
    called = SIGNER.replace(
        "class Signer:",
        "def fingerprint(password):\n    return _lazy_sha1(password)\n\n\nclass Signer:",
    )
    run = _security(tmp_path, {"README.md": "x\n"}, {"signer.py": called})
    assert run.assert_finding("security.bandit.B324").severity == "high"
    run.assert_verdict("FAIL")


def test_a_wrapper_that_hashes_something_else_still_blocks(tmp_path):
    other = SIGNER.replace("hashlib.sha1(string)", 'hashlib.md5(string + b"salt")')
    run = _security(tmp_path, {"README.md": "x\n"}, {"signer.py": other}, NO_SEMGREP)
    run.assert_verdict("FAIL")


def test_secret_guesses_real_releases_make_are_calibrated(tmp_path):
    """python-dateutil's tzdata sha512, requests' ``user:pass@proxy`` docs and its test
    certificates; the same detectors on a real-looking secret still block."""
    sha = "1f09f1b2327cc9e1afc7e9045e83ee3377918dafe1bee2f282b6991828d03b3c" * 2
    key = (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
    )
    head = {
        "zonefile_metadata.json": f'{{\n    "tzdata_file_sha512": "{sha}"\n}}\n',
        # LEO's own corpus pins: the value is sha256's, whatever the package is called
        "cases.toml": f'"oauth-kit==2.3.0" = {{ file = "k.tar.gz", sha256 = "{sha[:64]}" }}\n',
        "HISTORY.md": "Proxies with user info (`https://user:pass@proxy:8080`) work.\n",
        "tests/certs/server.key": key,
        "tests/test_models.py": 'CLEARTEXT_SECRET = "1234567890abcdefghijklmnopqrstuvwxyz"\n',
    }
    run = _security(tmp_path, {"README.md": "x\n"}, head)
    got = {f.rule_id: f.severity for f in run.findings}
    assert got["security.secrets.HexHighEntropyString"] == "low"
    assert {f.path for f in run.findings if f.severity == "low"} >= {"cases.toml"}
    assert got["security.secrets.BasicAuthDetector"] == "low"
    assert got["security.secrets.PrivateKeyDetector"] == "medium"
    assert got["security.secrets.KeywordDetector"] == "medium"
    run.assert_verdict("CONDITIONAL_PASS")  # a LEAD must accept the test key
    real = {
        "settings.json": f'{{\n    "session": "{sha[:64]}"\n}}\n',
        # round-4 red team: a signing key named like a digest
        "keys.json": f'{{\n    "signing_digest": "{sha[:64]}"\n}}\n',
        # a digest's key under a table named for a secret is the secret's
        "auth.toml": f'api = {{ sha256 = "{sha[:64]}" }}\n',
        "deploy.md": "Use `https://deploy:Xq9vTz2mLp7w@ci.example.com` to push.\n",
        "certs/server.key": key,
        "shop/models.py": 'CLEARTEXT_SECRET = "1234567890abcdefghijklmnopqrstuvwxyz"\n',
    }
    blocked = _security(tmp_path / "real", {"README.md": "x\n"}, real)
    got = {f.rule_id: f.severity for f in blocked.findings}
    assert got["security.secrets.HexHighEntropyString"] == "medium"
    assert [f.severity for f in blocked.findings if f.path == "keys.json"] == ["medium"]
    # the value is handed to the secret-named table: as a keyword's secret, high
    assert [f.severity for f in blocked.findings if f.path == "auth.toml"] == ["high"]
    assert got["security.secrets.BasicAuthDetector"] == "high"
    assert got["security.secrets.PrivateKeyDetector"] == "critical"
    assert got["security.secrets.KeywordDetector"] == "high"
    blocked.assert_verdict("FAIL")


def test_a_git_revision_id_named_as_one_is_not_a_secret(tmp_path):
    """toolz 0.12.1's versioneer ``_version.py`` records the release's commit; the same hex
    under a secret's name, or a revision name on a string of another length, still blocks."""
    rev = "7a0382e326eb2549e4dc7b833dc666a877feca38"
    version = f'version_json = \'\'\'\n{{\n "full-revisionid": "{rev}",\n "version": "0.12.1"\n}}\n\'\'\'\n'
    run = _security(tmp_path, {"README.md": "x\n"}, {"pkg/_version.py": version})
    got = {f.rule_id: f.severity for f in run.findings}
    assert got["security.secrets.HexHighEntropyString"] == "low"
    token = f'REVISION_TOKEN = "{rev}"\nCOMMIT = "{rev}{rev[:8]}"\n'
    blocked = _security(tmp_path / "real", {"README.md": "x\n"}, {"pkg/settings.py": token})
    hexes = [f for f in blocked.findings if f.rule_id == "security.secrets.HexHighEntropyString"]
    assert [(f.line, f.severity) for f in hexes] == [(1, "medium"), (2, "medium")]


def test_a_checksum_named_sum_is_not_a_secret(tmp_path):
    """babel 2.19.0 pins the CLDR zip's SHA-512 as ``COMMON_FILESUM``; a secret's name ending in
    ``sum`` and a hex under a name that only contains ``sum`` (``SUMMARY``) still block."""
    sha = "c704a2baf9ce4e28f40e242f8b2fbd0123579bb2c56daaaf8a92d72abd02485a" * 2
    pin = (
        f"# Via https://unicode.org/Public/cldr/49/hashes/SHASUM512.txt\nCOMMON_FILESUM = '{sha}'\n"
    )
    run = _security(tmp_path, {"README.md": "x\n"}, {"scripts/fetch.py": pin})
    hexes = [f for f in run.findings if f.rule_id == "security.secrets.HexHighEntropyString"]
    assert [f.severity for f in hexes] == ["low"]
    run.assert_verdict("PASS")
    real = f"API_KEY_SUM = '{sha[:64]}'\nSUMMARY = '{sha[::-1][:64]}'\n"
    blocked = _security(tmp_path / "real", {"README.md": "x\n"}, {"shop/settings.py": real})
    lines = {
        f.line: f.severity for f in blocked.findings if f.rule_id.startswith("security.secrets.")
    }
    assert lines[1] in ("high", "medium")
    assert lines[2] == "medium"


def test_documentation_credentials_are_not_secrets(tmp_path):
    """kombu 5.7.0: AWS's documentation keys in its SQS tests, a ``guest:guest@localhost``
    connection in its README, ``password='password'`` in celery's docs; secret-named values in
    ``t/unit/test_*.py`` ask a LEAD like those under ``tests/``. The same detectors on a real
    key beside an example, a real password beside a placeholder, default credentials to a
    remote host and a real password to a local one still block."""
    head = {
        "t/unit/SQS/conftest.py": (
            "CREDS = {\n"
            "    'AccessKeyId': 'AKIAIOSFODNN7EXAMPLE',\n"
            "    'SecretAccessKey': 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',\n"
            "}\n"
        ),
        "docs/pgmq.py": "conninfo = dict(\n    password='password',\n)\n",
        "README.rst": "with Connection('amqp://guest:guest@localhost//') as conn:\n",
        "t/unit/test_consumer.py": (
            "INFO = {\n    'password': 'supersecret',\n}\n\n\ndef test_info():\n    assert INFO\n"
        ),
    }
    run = _security(tmp_path, {"README.md": "x\n"}, head)
    got = {(f.path, f.rule_id): f.severity for f in run.findings}
    assert got[("t/unit/SQS/conftest.py", "security.secrets.AWSKeyDetector")] == "low"
    assert {s for (p, _), s in got.items() if p == "t/unit/SQS/conftest.py"} == {"low"}
    assert got[("docs/pgmq.py", "security.secrets.KeywordDetector")] == "low"
    assert got[("README.rst", "security.secrets.BasicAuthDetector")] == "low"
    assert got[("t/unit/test_consumer.py", "security.secrets.KeywordDetector")] == "medium"
    run.assert_verdict("CONDITIONAL_PASS")
    real = {
        "shop/aws.py": 'KEYS = ("AKIAQ4WZLMHXJ5RTVK3P", "AKIAIOSFODNN7EXAMPLE")\n',
        "shop/db.py": "connect(password='Xq9vTz2mLp7w', user='test')\n",
        "shop/mq.py": "URL = 'amqp://admin:admin@mq.example.com//'\n",
        "shop/pg.py": "URL = 'postgres://postgres:S3cr3tXq9@localhost/db'\n",
        "shop/models.py": "INFO = {\n    'password': 'supersecret',\n}\n",
        # round-7 red team: the word inside a real password is no documentation mark
        "shop/admin.py": 'ADMIN_PASSWORD = "Zq8vEXAMPLEx91Tk"\n',
    }
    blocked = _security(tmp_path / "real", {"README.md": "x\n"}, real)
    got = {(f.path, f.rule_id): f.severity for f in blocked.findings}
    assert got[("shop/aws.py", "security.secrets.AWSKeyDetector")] == "critical"
    assert got[("shop/db.py", "security.secrets.KeywordDetector")] == "high"
    assert got[("shop/mq.py", "security.secrets.BasicAuthDetector")] == "high"
    assert got[("shop/pg.py", "security.secrets.BasicAuthDetector")] == "high"
    assert got[("shop/models.py", "security.secrets.KeywordDetector")] == "high"
    assert got[("shop/admin.py", "security.secrets.KeywordDetector")] == "high"
    blocked.assert_verdict("FAIL")


def test_an_excused_value_does_not_excuse_its_line(tmp_path):
    """Round-6 red team: each calibration excused a whole line for one value on it. A real key
    unquoted beside a quoted EXAMPLE one, a real password beside a placeholder, a remote
    broker's password beside ``guest:guest@localhost``, a real secret beside a placeholder URL
    or an EXAMPLE key, and a shell call commented with AWS's example key all passed."""
    head = {
        "deploy/export.yml": (
            'access_key_id: AKIAQ4WZLMHXJ5RTVK3P  # the docs\' "AKIAIOSFODNN7EXAMPLE"\n'
        ),
        "shop/db.py": 'DB_PASSWORD = "password" if DEBUG else "Xq9vTz2mLp7wR4"\n',
        "shop/broker.py": (
            'BROKERS = ["amqp://guest:guest@localhost//",'
            ' "amqp://shop:Xq9vTz2mLp7wR4@mq.prod.example.com//"]\n'
        ),
        "shop/proxy.py": (
            'PROXY = "https://user:pass@proxy:8080"; API_PASSWORD = "Xq9vTz2mLp7wR4"\n'
        ),
        "shop/aws.py": 'KEYS = {"id": "AKIAIOSFODNN7EXAMPLE", "secret_key": "Xq9vTz2mLp7wR4"}\n',
        "shop/printing.py": (
            "import os\n\n\ndef receipt(name):\n"
            '    os.system("lpr " + name)  # as in the docs: "AKIAIOSFODNN7EXAMPLE"\n'
        ),
    }
    run = _security(tmp_path, {"README.md": "x\n"}, head)
    worst = {}
    for f in run.findings:
        if f.on_changed_line and f.rule_id != "security.bandit.B404":
            worst[f.path] = min(worst.get(f.path, "info"), f.severity, key=RANK.__getitem__)
    assert worst == {
        "deploy/export.yml": "critical",
        "shop/db.py": "high",
        "shop/broker.py": "high",
        "shop/proxy.py": "high",
        "shop/aws.py": "critical",
        "shop/printing.py": "high",
    }
    run.assert_verdict("FAIL")


def test_a_checksum_name_handed_to_a_secret_is_a_secret(tmp_path):
    """Round-6 red team: a live 32-hex API key named ``ALERTS_SUM`` and sent as the API key
    header was a checksum by its name alone; handed to a secret-named key, a high-entropy value
    is as much a secret as a keyword's (high). babel 2.19.0 hands its ``COMMON_FILESUM`` to
    ``is_good_file``: a digest still."""
    key = "9f3c1e7a2b6d4f80c5e1a9d7b3f26e48"
    sha = "c704a2baf9ce4e28f40e242f8b2fbd0123579bb2c56daaaf8a92d72abd02485a" * 2
    head = {
        "shop/alerts.py": (
            f'ALERTS_SUM = "{key}"\n\n\ndef alert(post):\n'
            '    post(headers={"DD-API-KEY": ALERTS_SUM})\n'
        ),
        "shop/upload.py": f'UPLOAD_SHA256 = "{sha[:64]}"\nsend(auth=(USER, UPLOAD_SHA256))\n',
        "scripts/fetch.py": (
            f"COMMON_FILESUM = '{sha}'\n\n"
            "while not is_good_file(common_zip_path, COMMON_FILESUM):\n    fetch()\n"
        ),
        # round-7 red team: the header's name in a variable
        "shop/notify.py": (
            f'HEADER = "DD-API-KEY"\nNOTIFY_SUM = "{key[::-1]}"\n\n\ndef notify(post):\n'
            "    post(headers={HEADER: NOTIFY_SUM})\n"
        ),
    }
    run = _security(tmp_path, {"README.md": "x\n"}, head)
    got = {f.path: f.severity for f in run.findings if f.rule_id.startswith("security.secrets.")}
    assert got == {
        "shop/notify.py": "high",
        "shop/alerts.py": "high",
        "shop/upload.py": "high",
        "scripts/fetch.py": "low",
    }


def test_a_test_named_module_the_package_imports_is_code(tmp_path):
    """Round-6 red team: a real password in ``shop/test_support.py``, which ``shop/client.py``
    imports, asked a LEAD as a made-up test value; so would one in a test-named module holding
    no test. celery's ``t/unit/test_*.py`` with its tests, and a conftest, still ask a LEAD."""
    head = {
        "shop/test_support.py": "API_PASSWORD = 'Xq9vTz2mLp7wR4'\n\n\ndef test_it():\n    pass\n",
        "shop/client.py": "from shop.test_support import API_PASSWORD\n",
        "shop/test_config.py": "DB_PASSWORD = 'Xq9vTz2mLp7wR5'\n",
        "t/unit/test_backend.py": (
            "from t.unit.conftest import app\n\nCONF = {\n    'password': 'supersecret',\n}\n\n\n"
            "class test_Backend:\n    def test_conf(self):\n        assert CONF\n"
        ),
        "t/unit/conftest.py": "BROKER = {\n    'password': 'supersecret2',\n}\n",
    }
    run = _security(tmp_path, {"README.md": "x\n"}, head)
    got = {
        f.path: f.severity for f in run.findings if f.rule_id == "security.secrets.KeywordDetector"
    }
    assert got == {
        "shop/test_support.py": "high",
        "shop/test_config.py": "high",
        "t/unit/test_backend.py": "medium",
        "t/unit/conftest.py": "medium",
    }
