"""Stable reason codes for every way a bundle, an attestation or a handoff can fail.

The codes are part of LEO's interface (tests, audit events and the CLI print them); add codes,
never rename one.
"""

from __future__ import annotations

from typing import Literal, get_args

from leo.errors import ExitCode, LeoError

Reason = Literal[
    # The archive itself (THREATS.md catalogue (a), A-00 to ).
    "bundle.format",
    "bundle.malformed",
    "bundle.too_large",
    "bundle.too_many_members",
    "bundle.path_traversal",
    "bundle.absolute_name",
    "bundle.odd_name",
    "bundle.non_regular_member",
    "bundle.duplicate_member",
    "bundle.unexpected_member",
    "bundle.incomplete",
    # The DSSE envelope and the in-toto Statement.
    "dsse.malformed",
    "json.duplicate_keys",
    "json.malformed",
    "signature.missing",
    "signature.invalid",
    "signature.wrong_signer",
    "signature.identity_mismatch",
    "signature.unavailable",
    "attestation.payload_type",
    "attestation.statement_type",
    "attestation.predicate_type",
    "attestation.digest_format",
    "attestation.subject_digest_mismatch",
    "attestation.mix_and_match",
    "provenance.malformed",
    "provenance.build_type",
    "provenance.merge_base_mismatch",
    "provenance.source_mismatch",
    # SLSA provenance of a release artifact (``leo provenance verify``, issue 20).
    "provenance.bare_envelope",
    "provenance.untrusted_builder",
    "provenance.builder_mismatch",
    "provenance.ref_mismatch",
    # Sigstore bundles.
    "sigstore.malformed",
    "sigstore.invalid",
    "sigstore.trusted_root",
    # The SBOM.
    "sbom.malformed",
    "sbom.invalid",
    "sbom.spec_version",
    # Applying the patch.
    "patch.merge_base_missing",
    "patch.does_not_apply",
    "patch.tree_mismatch",
    # Signed policy bundles (``leo policy``, issue 20).
    "policy.manifest",
    "policy.missing_file",
    "policy.unlisted_file",
    "policy.digest_mismatch",
    "policy.dir_mismatch",
    "policy.invalid_resource",
    # Handoff markers and lanes (catalogue (b)).
    "markers.malformed",
    "markers.confusable",
    "markers.too_large",
    "roles.chain_broken",
    "roles.chain_incomplete",
    "roles.out_of_order",
    "roles.marker_from_wrong_lane",
    "roles.self_approval",
    "roles.branch_name",
    "roles.bundle_missing",
]
REASONS: frozenset[str] = frozenset(get_args(Reason))


class BundleError(LeoError):
    """A bundle, attestation, SBOM or handoff failed a check: fail closed with a stable code.

    Exits 1 (FAIL), not 2: the input was understood and it is not trustworthy.
    """

    exit_code = ExitCode.FAIL

    def __init__(self, code: Reason, message: str) -> None:
        if code not in REASONS:  # a typo here would silently create an unstable code
            raise ValueError(f"unknown reason code {code!r}")
        super().__init__(f"{code}: {message}")
        self.code: Reason = code
        self.detail = message


def escape(text: str, limit: int = 120) -> str:
    """Show untrusted text (member names, marker lines) safely in one line."""
    shown = text.encode("unicode_escape", errors="backslashreplace").decode("ascii")
    return shown if len(shown) <= limit else shown[:limit] + "..."
