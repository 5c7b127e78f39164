"""create -> sign -> verify -> apply on a real repository, through the ``leo`` command line."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def test_round_trip_create_sign_verify_apply(builder_repo, leo_cli, tmp_path):
    repo = Path(builder_repo.path)
    base, head = builder_repo.base, builder_repo.head
    keys = tmp_path / "keys" / "builder"
    generated = leo_cli("key", "generate", "--output", str(keys))
    assert generated.returncode == 0, generated.stderr
    out = tmp_path / "artifact.tar.gz"
    created = leo_cli(
        "bundle",
        "create",
        "--repo",
        str(repo),
        "--base",
        base,
        "--head",
        head,
        "-o",
        str(out),
        "--sign",
        f"key:{keys}",
    )
    assert created.returncode == 0, created.stderr
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert created.stdout.strip() == f"[CODEX-READY:{digest}]"

    again = tmp_path / "again.tar.gz"
    leo_cli(
        "bundle",
        "create",
        "--repo",
        str(repo),
        "--base",
        base,
        "--head",
        head,
        "-o",
        str(again),
        "--sign",
        f"key:{keys}",
    )
    assert again.read_bytes() == out.read_bytes(), "bundles must be reproducible"

    verified = leo_cli(
        "bundle",
        "verify",
        str(out),
        "--key",
        f"{keys}.pub",
        "--repo",
        str(repo),
        "--expect-head",
        head,
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith(f"PASS bundle sha256:{digest}")

    enforcer = tmp_path / "enforcer"
    subprocess.run(["git", "clone", "-q", str(repo), str(enforcer)], check=True)
    git(enforcer, "checkout", "-q", "-b", "enforcer-apply", git(repo, "merge-base", base, head))
    applied = leo_cli("bundle", "apply", str(out), "--key", f"{keys}.pub", "--repo", str(enforcer))
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == f"[CLAUDE-APPLIED:{digest}]"
    assert git(enforcer, "write-tree") == git(repo, "rev-parse", f"{head}^{{tree}}")
    assert (enforcer / "logo.bin").read_bytes() == b"\x00\x01\x02binary\xff"


def test_unsigned_bundle_never_verifies(builder_repo, leo_cli, tmp_path, keypair):
    out = tmp_path / "a.tar.gz"
    leo_cli(
        "bundle",
        "create",
        "--repo",
        builder_repo.path,
        "--base",
        builder_repo.base,
        "--head",
        builder_repo.head,
        "-o",
        str(out),
    )
    result = leo_cli("bundle", "verify", str(out), "--key", str(keypair[1]))
    assert result.returncode == 1
    assert "signature.missing" in result.stderr


def test_verify_needs_exactly_one_trust_anchor(builder_repo, leo_cli, tmp_path, keypair):
    out = tmp_path / "a.tar.gz"
    leo_cli(
        "bundle",
        "create",
        "--repo",
        builder_repo.path,
        "--base",
        builder_repo.base,
        "-o",
        str(out),
        "--head",
        builder_repo.head,
    )
    assert leo_cli("bundle", "verify", str(out)).returncode == 2
    both = leo_cli(
        "bundle", "verify", str(out), "--key", str(keypair[1]), "--identity", "x", "--issuer", "y"
    )
    assert both.returncode == 2


def test_sigstore_signing_offline_fails_at_once(builder_repo, leo_cli, tmp_path):
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if k != "SIGSTORE_ID_TOKEN"}
    result = leo_cli(
        "bundle",
        "create",
        "--repo",
        builder_repo.path,
        "--base",
        builder_repo.base,
        "--head",
        builder_repo.head,
        "-o",
        str(tmp_path / "a.tar.gz"),
        "--sign",
        "sigstore",
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SIGSTORE_ID_TOKEN" in result.stderr and "Traceback" not in result.stderr
    assert time.monotonic() - started < 30
    assert not (tmp_path / "a.tar.gz").exists()


def test_sigstore_signing_with_a_token_but_no_network_fails_fast(builder_repo, leo_cli, tmp_path):
    if (
        shutil.which("unshare") is None
        or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0
    ):
        pytest.skip("needs unshare -n to cut the network")
    started = time.monotonic()
    result = subprocess.run(
        [
            "unshare",
            "-n",
            str(Path(__import__("sys").executable)),
            "-m",
            "leo",
            "bundle",
            "create",
            "--repo",
            builder_repo.path,
            "--base",
            builder_repo.base,
            "--head",
            builder_repo.head,
            "-o",
            str(tmp_path / "a.tar.gz"),
            "--sign",
            "sigstore",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "SIGSTORE_ID_TOKEN": "not-a-real-token"},
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "cannot reach" in result.stderr
    assert time.monotonic() - started < 30


@pytest.mark.skipif(
    shutil.which("gpg") is None or shutil.which("gpgv") is None, reason="needs gpg and gpgv"
)
def test_gpg_signed_bundle_verifies_against_the_builders_keyring(builder_repo, leo_cli, tmp_path):
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(home)}
    subprocess.run(
        [
            "gpg",
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            "builder@leo.test",
            "ed25519",
            "sign",
            "never",
        ],
        check=True,
        capture_output=True,
        env={**os.environ, **env},
        timeout=60,
    )
    keyring = tmp_path / "builder.gpg"
    keyring.write_bytes(
        subprocess.run(
            ["gpg", "--export", "builder@leo.test"],
            check=True,
            capture_output=True,
            env={**os.environ, **env},
        ).stdout
    )
    out = tmp_path / "a.tar.gz"
    created = leo_cli(
        "bundle",
        "create",
        "--repo",
        builder_repo.path,
        "--base",
        builder_repo.base,
        "--head",
        builder_repo.head,
        "-o",
        str(out),
        "--sign",
        "gpg:builder@leo.test",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    ok = leo_cli("bundle", "verify", str(out), "--gpg-keyring", str(keyring))
    assert ok.returncode == 0, ok.stderr
    assert "signed by gpg:" in ok.stdout
    empty = tmp_path / "empty.gpg"
    empty.write_bytes(b"")
    bad = leo_cli("bundle", "verify", str(out), "--gpg-keyring", str(empty))
    assert bad.returncode == 1 and "signature.invalid" in bad.stderr


def test_gpg_signing_with_an_unknown_key_is_a_clear_error(builder_repo, leo_cli, tmp_path):
    if shutil.which("gpg") is None:
        pytest.skip("needs gpg")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    result = leo_cli(
        "bundle",
        "create",
        "--repo",
        builder_repo.path,
        "--base",
        builder_repo.base,
        "--head",
        builder_repo.head,
        "-o",
        str(tmp_path / "a.tar.gz"),
        "--sign",
        "gpg:nobody@leo.test",
        env={"GNUPGHOME": str(home)},
    )
    assert result.returncode == 2
    assert "gpg could not sign" in result.stderr


def test_bundles_are_zstd_by_default_and_gzip_bundles_still_verify(builder_repo, keypair):
    """Format 2 (zstd, issue 20) is written by default; format 1 (gzip) is still written on
    request and read: the same members, the same verification."""
    import anyio

    from leo.bundle.create import create_bundle
    from leo.bundle.read import read_bundle
    from leo.bundle.sign import SignSpec
    from leo.bundle.verify import Trust, verify_bundle, verify_offline

    spec = SignSpec("key", str(keypair[0]))

    def create(**kwargs):
        return create_bundle(builder_repo.path, "main", "feature", spec, **kwargs)

    zstd, gzip = create(), create(compression="gzip")
    assert zstd[:4] == b"\x28\xb5\x2f\xfd" and gzip[:2] == b"\x1f\x8b"
    assert zstd == create()  # reproducible
    assert read_bundle(zstd).members == read_bundle(gzip).members
    for data in (zstd, gzip):
        result, _ = anyio.run(verify_bundle, data, Trust(key=keypair[1]))
        assert result.digest == hashlib.sha256(data).hexdigest()
        assert verify_offline(data, Trust(key=keypair[1]))[0] == result


def test_the_patch_is_byte_for_byte_what_git_diff_gives(leo_repo, keypair):
    """``create`` runs the plumbing ``git diff-tree -p`` (cheaper); it must give exactly the
    bytes of ``git diff`` with the same flags, whatever the change holds."""

    from leo.bundle.create import create_bundle
    from leo.bundle.read import PATCH, read_bundle
    from leo.bundle.sign import SignSpec

    repo = leo_repo(
        base={
            "old name.txt": "moved\n" * 50,
            "gone.txt": "bye\n",
            "src/app.py": "print('base')\n",
            "run.sh": "echo hi\n",
        },
        head={
            "new name.txt": "moved\n" * 50,
            "src/app.py": "print('head')\n",
            "docs/naïve café.md": "# unicode path\n",
            "logo.bin": bytes(range(256)) * 8,
            "run.sh": "echo hi\n",
        },
    )
    git(repo.path, "rm", "-q", "old name.txt", "gone.txt")  # on feature: a rename, a deletion
    (repo.path / "run.sh").chmod(0o755)
    git(repo.path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "more")
    data = create_bundle(repo.path, "main", "feature", SignSpec("key", str(keypair[0])))
    flags = [
        "--binary",
        "--full-index",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-renames",
    ]
    expected = subprocess.run(
        [
            "git",
            "-C",
            str(repo.path),
            "-c",
            "core.quotePath=false",
            "diff",
            *flags,
            "main",
            "feature",
        ],
        check=True,
        capture_output=True,
    ).stdout
    patch = read_bundle(data)[PATCH]
    assert b"new mode 100755" in patch and b"GIT binary patch" in patch
    assert "naïve café".encode() in patch and b"deleted file mode" in patch
    assert patch == expected


def _in_the_leo_process(argv: list[str], cwd, env: dict[str, str] | None = None):
    """Run ``leo`` as its entry point does, in a fresh interpreter; its output, exit code and
    every module that interpreter imported (a guarded worker's would not be among them)."""
    import json
    import os
    import subprocess
    import sys

    script = (
        "import json, sys\n"
        "from leo.cli import main\n"
        f"sys.argv = {argv!r}\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    print(json.dumps({'code': exc.code, 'modules': sorted(sys.modules)}))\n"
    )
    env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k != "LEO_SEAL_FD"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=cwd
    )
    *out, last = done.stdout.splitlines() or [""]
    try:
        outcome = json.loads(last)
    except ValueError:
        raise AssertionError(done.stdout + done.stderr) from None
    return "\n".join(out), outcome["code"], set(outcome["modules"])


def test_bundle_verify_runs_in_the_leo_process_without_plugins_or_an_event_loop(
    builder_repo, keypair, tmp_path
):
    """It runs no plugin code, so no guarded worker is started for it (an interpreter's start),
    and without --repo it needs no plugin host, event loop or audit store (issue 20.7)."""
    from .conftest import make_bundle

    bundle = tmp_path / "artifact.tar.zst"
    bundle.write_bytes(make_bundle(builder_repo, keypair[0]))
    out, code, modules = _in_the_leo_process(
        ["leo", "bundle", "verify", str(bundle), "--key", str(keypair[1])], tmp_path
    )
    assert out.startswith("PASS bundle sha256:") and code == 0, out
    assert "leo.bundle.verify" in modules  # verified in this process, not in a worker
    heavy = {"pluggy", "leo.plugins", "pydantic", "anyio", "asyncio", "sqlalchemy", "leo.store"}
    heavy |= {"jsonschema"}  # the SBOM is validated by a forked child (sbom.ForkedValidation)
    assert not modules & heavy


def test_bundle_create_runs_in_the_leo_process_when_no_plugin_hears_it(
    builder_repo, keypair, tmp_path
):
    """With no ``-p`` module and no third party's entry point, nothing could hear its lane
    event, so no plugin code can run and no guarded worker is started; git runs without an
    event loop (issue 20.7). ``tests/test_guard.py`` pins the guard's return with a plugin."""
    bundle = tmp_path / "artifact.tar.zst"
    argv = ["leo", "bundle", "create", "--repo", str(builder_repo.path), "--base", "main"]
    argv += ["--head", "feature", "-o", str(bundle), "--sign", f"key:{keypair[0]}", "-p", "no:x"]
    env = {"LEO_DATABASE_URL": str(tmp_path / "audit.db")}
    _in_the_leo_process(argv, tmp_path, env)  # the first run creates the audit store
    out, code, modules = _in_the_leo_process(argv, tmp_path, env)
    assert out.startswith("[CODEX-READY:") and code == 0, out
    assert "leo.bundle.create" in modules  # created in this process, not in a worker
    assert not modules & {"anyio", "asyncio", "pydantic", "sqlalchemy"}
    assert out == f"[CODEX-READY:{hashlib.sha256(bundle.read_bytes()).hexdigest()}]"
