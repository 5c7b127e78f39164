"""Records lane events (bundle created/applied, LEAD decisions) to the file in LEO_FIXTURE_EVENTS."""

from __future__ import annotations

import json
import os

from leo import hookimpl


def _write(hook, **kwargs):
    with open(os.environ["LEO_FIXTURE_EVENTS"], "a") as fh:
        fh.write(json.dumps({"hook": hook, **kwargs}) + "\n")


@hookimpl
def leo_bundle_created(repo, head_sha, digest, marker):
    _write("leo_bundle_created", head_sha=head_sha, digest=digest, marker=marker)


@hookimpl
def leo_bundle_applied(repo, head_sha, digest, marker):
    _write("leo_bundle_applied", head_sha=head_sha, digest=digest, marker=marker)


@hookimpl
def leo_lead_decision(repository, pr, head_sha, decision, reason, override, verdict):
    _write(
        "leo_lead_decision",
        pr=pr,
        head_sha=head_sha,
        decision=decision,
        verdict=verdict,
        override=override,
    )
