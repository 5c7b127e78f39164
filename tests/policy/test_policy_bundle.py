"""Signed policy bundles: reproducible, signed, every file matched both ways, Kyverno-shaped."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import anyio
import pytest

from leo.bundle import dsse, keys
from leo.bundle.create import write_archive
from leo.bundle.read import read_archive
from leo.bundle.reasons import BundleError
from leo.bundle.sign import SignSpec
from leo.bundle.verify import Trust
from leo.errors import LeoError
from leo.policy import bundle as policy

CLUSTER_POLICY = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-labels
spec:
  validationFailureAction: Enforce
  rules:
    - name: check-team
      match:
        any:
          - resources:
              kinds: [Pod]
      validate:
        message: "label team is required"
        pattern:
          metadata:
            labels:
              team: "?*"
"""
EXCEPTION = """\
apiVersion: kyverno.io/v2
kind: PolicyException
metadata:
  name: allow-system
spec: {}
---
apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata:
  name: no-latest
spec: {}
"""


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    root = tmp_path / "policies" / "kyverno"
    (root / "exceptions").mkdir(parents=True)
    (root / "require-labels.yaml").write_text(CLUSTER_POLICY)
    (root / "exceptions" / "system.yaml").write_text(EXCEPTION)
    (root / "README.md").write_text("Policies enforced on every cluster.\n")
    return root


@pytest.fixture
def keypair(tmp_path: Path) -> tuple[Path, Path]:
    private, public, _ = keys.generate(tmp_path / "keys" / "policy")
    return private, public


def _bundle(directory: Path, private: Path) -> bytes:
    return anyio.run(lambda: policy.create(directory, SignSpec("key", str(private))))


def _verify(data: bytes, public: Path, deployed: Path | None = None) -> policy.Verified:
    return anyio.run(lambda: policy.verify(data, Trust(key=public), deployed=deployed))


def test_bundle_is_reproducible_and_verifies(policies, keypair):
    data = _bundle(policies, keypair[0])
    assert data == _bundle(policies, keypair[0])
    result = _verify(data, keypair[1], deployed=policies)
    assert sorted(result.files) == [
        "policies/README.md",
        "policies/exceptions/system.yaml",
        "policies/require-labels.yaml",
    ]
    assert result.resources == (
        "PolicyException/allow-system",
        "ValidatingPolicy/no-latest",
        "ClusterPolicy/require-labels",
    )
    assert result.signer.startswith("key:")


def test_statement_is_documented_predicate_over_the_manifest(policies, keypair):
    members = read_archive(
        _bundle(policies, keypair[0]), check_name=policy.check_name, max_members=16
    )
    statement = json.loads(dsse.parse_envelope(members[policy.ENVELOPE]).payload)
    assert statement["predicateType"] == "https://leo.dev/policy-bundle/v1"
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    by_name = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    assert (
        by_name["policies/require-labels.yaml"]
        == hashlib.sha256(CLUSTER_POLICY.encode()).hexdigest()
    )


def _rewrite(data: bytes, change) -> bytes:
    members = read_archive(data, check_name=lambda _n: None, max_members=64)
    return write_archive(list(change(dict(members)).items()), 0)


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda m: {**m, "policies/require-labels.yaml": b"kind: x\n"}, "policy.digest_mismatch"),
        (
            lambda m: {k: v for k, v in m.items() if k != "policies/README.md"},
            "policy.missing_file",
        ),
        (lambda m: {**m, "policies/extra.yaml": CLUSTER_POLICY.encode()}, "policy.unlisted_file"),
        (lambda m: {k: v for k, v in m.items() if k != policy.ENVELOPE}, "bundle.incomplete"),
    ],
)
def test_tampered_bundle_fails_with_a_reason_code(policies, keypair, mutate, code):
    with pytest.raises(BundleError) as exc:
        _verify(_rewrite(_bundle(policies, keypair[0]), mutate), keypair[1])
    assert exc.value.code == code


def test_another_key_is_refused(policies, keypair, tmp_path):
    _, other = keys.generate(tmp_path / "keys" / "intruder")[:2]
    with pytest.raises(BundleError) as exc:
        _verify(_bundle(policies, keypair[0]), other)
    assert exc.value.code == "signature.wrong_signer"


def test_a_drifted_deployed_directory_is_refused(policies, keypair):
    data = _bundle(policies, keypair[0])
    (policies / "require-labels.yaml").write_text(CLUSTER_POLICY.replace("Enforce", "Audit"))
    with pytest.raises(BundleError) as exc:
        _verify(data, keypair[1], deployed=policies)
    assert exc.value.code == "policy.dir_mismatch"
    (policies / "require-labels.yaml").write_text(CLUSTER_POLICY)
    (policies / "new.yaml").write_text(CLUSTER_POLICY)
    with pytest.raises(BundleError) as exc:
        _verify(data, keypair[1], deployed=policies)
    assert exc.value.code == "policy.dir_mismatch"


def test_a_member_outside_policies_is_refused_before_anything_is_read(policies, keypair):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("policies/../../etc/passwd")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    import gzip

    with pytest.raises(BundleError) as exc:
        _verify(gzip.compress(raw.getvalue()), keypair[1])
    assert exc.value.code == "bundle.odd_name"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("apiVersion: kyverno.io/v1\nkind: ClusterPolcy\nmetadata: {name: x}\n", "ClusterPolcy"),
        ("apiVersion: kyverno.io/v7beta\nkind: ClusterPolicy\n", "not a Kyverno API version"),
        ("kind: ClusterPolicy\n", "without apiVersion"),
        ("- just\n- a list\n", "no mapping"),
        ("apiVersion: [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_kyverno_files_are_refused_at_bundle_time(tmp_path, keypair, text, fragment):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "bad.yaml").write_text(text)
    with pytest.raises(LeoError, match=fragment):
        _bundle(tmp_path / "p", keypair[0])


def test_an_unsigned_bundle_is_not_written(policies):
    with pytest.raises(LeoError, match="must be signed"):
        anyio.run(lambda: policy.create(policies, SignSpec("none")))


def test_a_symlink_in_the_policy_directory_is_refused(policies, keypair):
    (policies / "link.yaml").symlink_to(policies / "require-labels.yaml")
    with pytest.raises(LeoError, match="symbolic link"):
        _bundle(policies, keypair[0])


def test_policy_cli_exit_codes(policies, keypair, tmp_path, leo_cli):
    out = tmp_path / "policy-bundle.tar.gz"
    made = leo_cli("policy", "bundle", str(policies), "-o", str(out), "--sign", f"key:{keypair[0]}")
    assert made.returncode == 0 and made.stdout.startswith("sha256:"), made.stderr
    ok = leo_cli("policy", "verify", str(out), "--key", str(keypair[1]), "--dir", str(policies))
    assert ok.returncode == 0 and "3 files, 3 resources" in ok.stdout, ok.stderr
    (policies / "README.md").write_text("changed\n")
    drift = leo_cli("policy", "verify", str(out), "--key", str(keypair[1]), "--dir", str(policies))
    assert drift.returncode == 1 and "policy.dir_mismatch" in drift.stderr
    usage = leo_cli("policy", "verify", str(out))
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
    unsigned = leo_cli("policy", "bundle", str(policies), "-o", str(out))
    assert unsigned.returncode == 2
