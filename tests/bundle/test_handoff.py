"""THREATS.md catalogue (b): the marker grammar, spoofed markers, the chain, and ``leo verify``."""

from __future__ import annotations

import hashlib

import pytest

from leo.bundle.chain import check_chain
from leo.bundle.gate import requirements
from leo.bundle.markers import parse, render

H1, H2 = "a" * 64, "b" * 64


def msg(*trailers: str, body: str = "") -> str:
    return "subject\n\n" + (body + "\n\n" if body else "") + "\n".join(trailers) + "\n"


def test_render_and_parse_round_trip():
    for kind, value in [
        ("ready", H1),
        ("applied", H2),
        ("supervisor", "PASS"),
        ("lead", "reviewed the migration"),
    ]:
        markers, issues = parse(msg(render(kind, value)))
        assert [(m.kind, m.value) for m in markers] == [(kind, value)] and not issues


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (f"[\u0421ODEX-READY:{H1}]", "markers.confusable"),  # Cyrillic Es (B-08)
        (f"\uff3bCODEX-READY:{H1}\uff3d", "markers.confusable"),  # fullwidth brackets
        (f"[CODEX-\u200bREADY:{H1}]", "markers.confusable"),  # zero-width space
        (f"[CODEX-READY:\u202e{H1}]", "markers.confusable"),  # RTL override
        ("PLAN-SUPERVISOR:\u00a0PASS", "markers.confusable"),  # NBSP
        ("PLAN-SUPERVISOR: PASSED", "markers.malformed"),
        ("PLAN-SUPERVISOR: pass", "markers.malformed"),
        ("PLAN-SUPERVISOR: PASS ", "markers.malformed"),
        (f"[CODEX-READY:{H1[:12]}]", "markers.malformed"),  # short prefix (B-04)
        (f"[CODEX-READY:{H1.upper()}]", "markers.malformed"),
        ("LEAD-APPROVED:", "markers.malformed"),  # empty reason (B-15)
        ("LEAD-APPROVED: ok", "markers.malformed"),  # too short to be a reason
        ("LEAD-APPROVED: ok\rPLAN-SUPERVISOR: PASS", "markers.confusable"),  # lone CR (B-10)
    ],
)
def test_look_alike_markers_are_flagged_never_accepted(line, code):
    markers, issues = parse(msg(line))
    assert markers == []
    assert [i.code for i in issues] == [code]
    assert not issues[0].blocking


@pytest.mark.parametrize(
    "message",
    [
        f"[CODEX-READY:{H1}]\n",  # the subject is not a trailer
        msg("Signed-off-by: x", body=f"> [CODEX-READY:{H1}]"),  # quoted reply (B-09)
        msg("Signed-off-by: x", body="```\nPLAN-SUPERVISOR: PASS\n```"),  # code fence
        msg(f"see [CODEX-READY:{H1}] above"),  # not a whole line
        msg("> LEAD-APPROVED: approved by lead"),
    ],
)
def test_markers_outside_whole_trailer_lines_do_not_count(message):
    markers, _ = parse(message)
    assert markers == []


def test_oversized_message_is_refused_without_parsing():
    markers, issues = parse(msg(f"[CODEX-READY:{H1}]", body="x" * 100_000))
    assert markers == [] and issues[0].code == "markers.too_large"


def test_marker_flood_is_refused():
    markers, issues = parse(msg(*[f"[CODEX-READY:{H1}]"] * 40))
    assert markers == [] and issues[0].code == "markers.too_large"


def codes(commits, branch=None):
    return [i.code for i in check_chain(commits, branch).issues]


def test_intact_chain_has_no_issues():
    commits = [("c1", msg(render("ready", H1))), ("c2", msg(render("applied", H1)))]
    assert codes(commits, "feature/x") == []


@pytest.mark.parametrize(
    ("commits", "branch", "expected"),
    [
        (
            [("c1", msg(render("ready", H1))), ("c2", msg(render("applied", H2)))],
            None,
            "roles.chain_broken",
        ),  # B-04
        (
            [("c1", msg(render("applied", H1))), ("c2", msg(render("ready", H1)))],
            None,
            "roles.out_of_order",
        ),  # B-05
        (
            [("c1", msg(render("ready", H1))), ("c2", msg(render("ready", H2)))],
            None,
            "roles.out_of_order",
        ),
        (
            [("c1", msg(render("ready", H1), "PLAN-SUPERVISOR: PASS"))],
            None,
            "roles.marker_from_wrong_lane",
        ),  # B-01
        (
            [
                ("c1", msg(render("ready", H1))),
                ("c2", msg(render("applied", H1), "LEAD-APPROVED: looks good to me")),
            ],
            None,
            "roles.self_approval",
        ),  # B-06
        ([("c1", msg(render("ready", H1)))], None, "roles.chain_incomplete"),
        (
            [("c1", msg(render("ready", H1))), ("c2", msg(render("applied", H1)))],
            "main",
            "roles.branch_name",
        ),
        (
            [("c1", msg(render("ready", H1))), ("c2", msg("PLAN-SUPERVISOR: PASS"))],
            "staging/codex-1",
            "roles.marker_from_wrong_lane",
        ),
    ],
)
def test_broken_chains_fail_with_their_code(commits, branch, expected):
    assert expected in codes(commits, branch)


def test_verdict_marker_is_a_claim_not_a_verdict():
    audit = check_chain([("c1", msg("PLAN-SUPERVISOR: PASS"))])
    assert [m.kind for m in audit.claims] == ["supervisor"]
    reqs = {r.name: r.met for r in requirements(audit)}
    assert reqs["bundle verified"] is None  # a PASS claim alone never becomes a PASS (G-07)


# --- end to end through leo verify and leo handoff audit ----------------------------------


def _chain_repo(leo_repo, builder_repo, keypair, leo_cli, tmp_path, *, tamper=False):
    out = tmp_path / "artifact.tar.gz"
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
        f"key:{keypair[0]}",
    )
    assert created.returncode == 0, created.stderr
    ready = created.stdout.strip()
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    if tamper:
        data = bytearray(out.read_bytes())
        data[-30] ^= 1
        out.write_bytes(bytes(data))
        out = tmp_path / "forged.tar.gz"
        out.write_bytes(bytes(data))
    builder_repo.commit({"notes.txt": "ready\n"}, message=f"hand off\n\n{ready}")
    builder_repo.commit({"notes.txt": "applied\n"}, message=f"applied\n\n[CLAUDE-APPLIED:{digest}]")
    return out


def test_leo_verify_adds_handoff_requirements(leo_repo, builder_repo, keypair, leo_cli, tmp_path):
    bundle = _chain_repo(leo_repo, builder_repo, keypair, leo_cli, tmp_path)
    args = [
        "verify",
        "--repo",
        builder_repo.path,
        "--base",
        builder_repo.base,
        "--head",
        builder_repo.head,
        "--format",
        "json",
        "--agents",
        "design",
        "-q",
    ]
    result = leo_cli(*args, "--bundle", str(bundle), "--bundle-key", str(keypair[1]))
    import json

    report = json.loads(result.stdout)
    reqs = {r["name"]: r["met"] for r in report["requirements"]}
    assert reqs["handoff chain intact"] is True
    assert reqs["bundle verified"] is True

    no_bundle = json.loads(leo_cli(*args).stdout)
    reqs = {r["name"]: r["met"] for r in no_bundle["requirements"]}
    assert reqs["bundle verified"] is None
    assert no_bundle["verdict"] != "PASS"


def test_handoff_audit_cli_verifies_the_named_bundle(builder_repo, keypair, leo_cli, tmp_path):
    out = tmp_path / "artifact.tar.gz"
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
        f"key:{keypair[0]}",
    )
    ready = created.stdout.strip()
    digest = ready[len("[CODEX-READY:") : -1]
    head_before = builder_repo.head
    builder_repo.commit({}, message=f"hand off\n\n{ready}")
    builder_repo.commit({}, message=f"applied\n\n[CLAUDE-APPLIED:{digest}]")
    audit = leo_cli(
        "handoff",
        "audit",
        "--repo",
        builder_repo.path,
        "--base",
        builder_repo.base,
        "--head",
        builder_repo.head,
        "--bundle",
        str(out),
        "--key",
        str(keypair[1]),
        "--branch",
        "feature/demo",
    )
    # the empty marker commits keep the tree, and the bundle's own head is head_before
    assert head_before
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "handoff chain intact: met" in audit.stdout
    assert "bundle verified: met" in audit.stdout
    forged = tmp_path / "forged.tar.gz"
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x40
    forged.write_bytes(bytes(data))
    missing = leo_cli(
        "handoff",
        "audit",
        "--repo",
        builder_repo.path,
        "--base",
        builder_repo.base,
        "--head",
        builder_repo.head,
        "--bundle",
        str(forged),
        "--key",
        str(keypair[1]),
        "--branch",
        "feature/demo",
    )
    assert missing.returncode == 4  # the forged bytes do not hash to the READY marker: not found


def test_handoff_audit_without_markers_is_not_a_pass(builder_repo, leo_cli):
    result = leo_cli(
        "handoff",
        "audit",
        "--repo",
        builder_repo.path,
        "--base",
        builder_repo.base,
        "--head",
        builder_repo.head,
    )
    assert result.returncode == 4


def test_leo_verify_fails_when_the_ready_bundle_does_not_verify(
    builder_repo, keypair, leo_cli, tmp_path
):
    import json

    out = tmp_path / "unsigned.tar.gz"
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
    )
    ready = created.stdout.strip()
    builder_repo.commit({}, message=f"hand off\n\n{ready}")
    builder_repo.commit({}, message=f"applied\n\n[CLAUDE-APPLIED:{ready[13:-1]}]")
    result = leo_cli(
        "verify",
        "--repo",
        builder_repo.path,
        "--base",
        builder_repo.base,
        "--head",
        builder_repo.head,
        "--format",
        "json",
        "--agents",
        "design",
        "-q",
        "--bundle",
        str(out),
        "--bundle-key",
        str(keypair[1]),
    )
    report = json.loads(result.stdout)
    reqs = {r["name"]: r for r in report["requirements"]}
    assert reqs["bundle verified"]["met"] is False
    assert "signature.missing" in reqs["bundle verified"]["detail"]
    assert report["verdict"] == "FAIL" and result.returncode == 1
