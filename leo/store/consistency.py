"""Each verdict row's columns must say what its own ``report_json`` says (issue 17.9).

The hash chain catches an edit that does not re-chain every later row; a forger who rewrites the
``verdict`` column and re-chains everything is caught here, because the report stored in the same
row (and its digest) still says FAIL. Rewriting the report too is left to external checkpoints.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

#: Column -> the report field it copies.
COPIED = ("repository", "base_sha", "head_sha", "config_digest", "verdict", "confidence",
          "leo_version")  # fmt: skip


def report_mismatch(row: Mapping[str, Any]) -> str | None:
    """Why a ``leo_verification_results`` row disagrees with its report, or None."""
    where = f"leo_verification_results row seq {row['seq']}"
    text = str(row["report_json"])
    digest = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    if digest != row["report_digest"]:
        return f"{where}: its report_json does not match its report_digest"
    try:
        report = json.loads(text)
    except ValueError:
        return f"{where}: its report_json is not JSON"
    for column in COPIED:
        if row[column] != report.get(column):
            return (
                f"{where}: its {column} column says {row[column]!r} but its report_json says "
                f"{report.get(column)!r}; the row was rewritten"
            )
    return None
