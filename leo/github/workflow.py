"""``leo init github``: the ``/leo-verify`` workflow and LEO's composite action.

The workflow splits the run at the trust boundary (docs/github.md): ``authorize`` (checks the
commenter's permission through the collaborator API, posts ``pending``), ``evidence``
(read-only token, no secrets; runs the sub-agents that execute the PR's code, in LEO's
bubblewrap sandbox, and uploads their result envelopes) and ``trusted`` (write token and the
VSA signing key; runs no PR code, not even in conflict rounds: the static sub-agents, then
``leo aggregate --no-rerun`` of the evidence, a signed verdict, and ``leo publish``, which
refuses a report whose signature does not verify). The job holding write permissions takes
evidence from an artifact, never a verdict. Both install LEO from the pinned ``--source``.
Comment text reaches shell steps only through ``env:``. zizmor checks both files in LEO's tests.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from leo.__about__ import __version__
from leo.errors import LeoError
from leo.github.settings import DEFAULT_CONTEXT

#: Shell of the step that fetches both commits into $RUNNER_TEMP/repo without a checkout of the
#: PR's files and without leaving the token in git's configuration.
_FETCH = """
          set -euo pipefail
          git init -q "$RUNNER_TEMP/repo"
          basic=$(printf 'x-access-token:%s' "$GH_TOKEN" | base64 -w0)
          GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraHeader \\
            GIT_CONFIG_VALUE_0="Authorization: Basic $basic" \\
            git -C "$RUNNER_TEMP/repo" -c core.hooksPath=/dev/null fetch -q --no-tags \\
            --no-recurse-submodules "$SERVER/$REPO" "+refs/heads/$BASE_REF:refs/leo/base" \\
            "+refs/pull/$PR/head:refs/leo/head"
"""

WORKFLOW_PATH = Path(".github/workflows/leo-verify.yml")
#: Every third-party action the generated files use, pinned by commit SHA (zizmor's
#: unpinned-uses) with the release that commit is; a test checks each ``uses:`` against this.
PINNED_ACTIONS = {
    "actions/checkout": ("11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "actions/attest-build-provenance": ("e8998f949152b193b063cb0ec769d69d929409be", "v2.4.0"),
    "actions/upload-artifact": ("ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    "actions/download-artifact": ("d3f86a106a0bac45b974a628896c90dbdf5c8093", "v4.3.0"),
    "actions/setup-python": ("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),  # examples/ci
}
#: The built-in sub-agents' distributions and where each lives in LEO's repository (the same
#: five as ``leo.plugins.BUILTIN_PLUGINS``, which this floor may not import; a test checks).
SUBAGENT_DISTRIBUTIONS = {
    "leo-security": "plugins/security",
    "leo-database": "plugins/database",
    "leo-testing": "plugins/testing",
    "leo-performance": "plugins/performance",
    "leo-design": "plugins/design",
}
_SOURCE = re.compile(r"(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)@(?P<sha>[0-9a-f]{40})")
_GITHUB_URL = re.compile(
    r"https://github\.com/(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?"
)


def pinned(action: str) -> str:
    """``owner/repo@<sha>  # <release>`` for a ``uses:`` line, from ``PINNED_ACTIONS``."""
    sha, release = PINNED_ACTIONS[action]
    return f"{action}@{sha}  # {release}"


@dataclass(frozen=True)
class Source:
    """Where a workflow gets LEO from: a GitHub repository pinned to one commit.

    Never a bare package-index name: ``leo-gate`` is not registered, and whoever registers it
    would run code in the job that holds the write token (issue 19).
    """

    repo: str
    """``OWNER/REPO`` of LEO's repository (or a fork)."""
    sha: str
    """The 40-hex commit; a tag or branch could move under the workflow."""

    @classmethod
    def parse(cls, text: str) -> Source:
        match = _SOURCE.fullmatch(text.strip())
        if match is None:
            msg = (
                f"--source {text!r} is not OWNER/REPO@<40-hex commit SHA>; "
                "pin LEO to a full commit, e.g. --source acme/leo@$(git rev-parse HEAD)"
            )
            raise LeoError(msg)
        return cls(match["repo"], match["sha"])

    @property
    def uses(self) -> str:
        """The ``uses:`` value of LEO's composite action, with the LEO version it carries."""
        return f"{self.repo}@{self.sha}  # LEO {__version__}"

    def requirements(self) -> str:
        """pip requirements for LEO and the five sub-agents at this commit, space-separated."""
        url = f"git+https://github.com/{self.repo}@{self.sha}"
        reqs = [f"leo-gate@{url}"]
        reqs += [f"{dist}@{url}#subdirectory={sub}" for dist, sub in SUBAGENT_DISTRIBUTIONS.items()]
        return " ".join(reqs)


#: What ``leo init github`` writes when it cannot tell where the running LEO came from: not a
#: valid action reference, so GitHub refuses the workflow instead of running something unpinned.
PLACEHOLDER = Source("SET-LEO-SOURCE/run-leo-init-github-with--source", "0" * 40)


def running_source() -> Source | None:
    """The GitHub repository and commit the running LEO was installed from, when pip recorded it.

    pip writes ``direct_url.json`` (PEP 610) for ``leo-gate @ git+https://github.com/…@<sha>``;
    an install from an index, a wheel or an editable checkout has no commit to pin to.
    """
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        text = distribution("leo-gate").read_text("direct_url.json")
    except PackageNotFoundError:
        return None
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    vcs = data.get("vcs_info") if isinstance(data, dict) else None
    if not isinstance(vcs, dict) or vcs.get("vcs") != "git":
        return None
    url = str(data.get("url", "")).removeprefix("git+")
    match = _GITHUB_URL.fullmatch(url)
    commit = str(vcs.get("commit_id", ""))
    if match is None or not re.fullmatch(r"[0-9a-f]{40}", commit):
        return None
    return Source(match["repo"], commit)


_WORKFLOW = """\
# Generated by `leo init github` (LEO {version}, from {repo}@{sha}); see docs/github.md.
# A supervisor comments `/leo-verify` or `/leo-verify PR-<n>` on a pull request.
name: LEO Verify

on:
  # issue_comment runs with the base branch's workflow and a token; here it only reads the
  # command, checks the commenter's write permission, and runs PR code in a read-only job.
  issue_comment:  # zizmor: ignore[dangerous-triggers]
    types: [created]  # edited comments never trigger a run

permissions: {{}}

concurrency:
  group: leo-verify-pr-${{{{ github.event.issue.number }}}}
  cancel-in-progress: false

env:
  LEO_INSTALL: "{install}"
  LEO_STATUS_CONTEXT: "{context}"

jobs:
  authorize:
    name: Authorize /leo-verify
    # Only comments on pull requests, only the command, never from bots.
    if: >-
      github.event.issue.pull_request &&
      startsWith(github.event.comment.body, '/leo-verify') &&
      github.event.comment.user.type != 'Bot'
    runs-on: ubuntu-latest
    timeout-minutes: 5
    permissions:
      pull-requests: read  # read the PR's head SHA
      statuses: write  # post LEO's pending status
    outputs:
      pr: ${{{{ steps.check.outputs.pr }}}}
      sha: ${{{{ steps.check.outputs.sha }}}}
      base: ${{{{ steps.check.outputs.base }}}}
    steps:
      - name: Check the command and the commenter's permission
        id: check
        env:
          GH_TOKEN: ${{{{ github.token }}}}
          COMMENT_BODY: ${{{{ github.event.comment.body }}}}
          COMMENTER: ${{{{ github.event.comment.user.login }}}}
          ISSUE_NUMBER: ${{{{ github.event.issue.number }}}}
          REPO: ${{{{ github.repository }}}}
        run: |
          set -euo pipefail
          first_line=$(printf '%s\\n' "$COMMENT_BODY" | head -n 1 | tr -d '\\r')
          if [[ ! "$first_line" =~ ^/leo-verify([[:space:]]+PR-([0-9]+))?[[:space:]]*$ ]]; then
            echo "::error::not a /leo-verify [PR-N] command"
            exit 1
          fi
          pr="${{BASH_REMATCH[2]:-$ISSUE_NUMBER}}"
          if [ "$pr" != "$ISSUE_NUMBER" ]; then
            echo "::error::/leo-verify PR-$pr was posted on #$ISSUE_NUMBER; post it on the PR it names"
            exit 1
          fi
          # The collaborator permission API, not author_association (which is not a permission).
          permission=$(gh api "repos/$REPO/collaborators/$COMMENTER/permission" --jq .permission)
          case "$permission" in
            admin|maintain|write) ;;
            *) echo "::error::/leo-verify needs write permission; the commenter has $permission"; exit 1 ;;
          esac
          sha=$(gh api "repos/$REPO/pulls/$pr" --jq .head.sha)
          base=$(gh api "repos/$REPO/pulls/$pr" --jq .base.ref)
          gh api --silent "repos/$REPO/statuses/$sha" -f state=pending \\
            -f context="$LEO_STATUS_CONTEXT" -f description="LEO is verifying this head commit"
          {{ echo "pr=$pr"; echo "sha=$sha"; echo "base=$base"; }} >> "$GITHUB_OUTPUT"

  evidence:
    name: Evidence (runs the PR's code in LEO's sandbox)
    # The only job that executes the PR's code (tests, benchmarks, live migrations), inside
    # bubblewrap: a read-only token that never reaches that code, no secrets.
    needs: authorize
    runs-on: ubuntu-latest
    timeout-minutes: 300
    permissions:
      contents: read  # fetch the base branch and refs/pull/N/head
    steps:
      - name: Fetch the base branch and the pull request's head (no checkout of PR code)
        env:
          GH_TOKEN: ${{{{ github.token }}}}
          PR: ${{{{ needs.authorize.outputs.pr }}}}
          BASE_REF: ${{{{ needs.authorize.outputs.base }}}}
          SERVER: ${{{{ github.server_url }}}}
          REPO: ${{{{ github.repository }}}}
        run: |{fetch}
      - name: Install bubblewrap (the sandbox) and LEO
        run: |
          sudo apt-get update -qq
          sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap
          # Ubuntu 24.04 restricts unprivileged user namespaces through AppArmor.
          sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 || true
          python3 -m venv "$RUNNER_TEMP/leo"
          # shellcheck disable=SC2086 # LEO_INSTALL holds several requirements
          "$RUNNER_TEMP/leo/bin/pip" install --quiet $LEO_INSTALL
      - name: Run the sub-agents that execute the PR's code, sandboxed
        env:
          HEAD_SHA: ${{{{ needs.authorize.outputs.sha }}}}
        run: |
          mkdir -p "$GITHUB_WORKSPACE/evidence"
          cd "$RUNNER_TEMP/repo"
          for agent in testing performance database; do
            "$RUNNER_TEMP/leo/bin/leo" agent run "$agent" --repo . --base refs/leo/base \
              --head "$HEAD_SHA" --output "$GITHUB_WORKSPACE/evidence/$agent.json" -q \
              || echo "leo agent run $agent exited $?"
          done
      - name: Hand the result envelopes to the trusted job
        uses: {upload}
        with:
          name: leo-evidence
          path: evidence/
          retention-days: 7
          if-no-files-found: ignore

  trusted:
    name: Verdict (no PR code runs here)
    # Holds the write token and the signing key; runs no code of the PR, not even in conflict
    # rounds (--no-rerun). It takes evidence from the artifact, never a verdict.
    needs: [authorize, evidence]
    if: always() && needs.authorize.result == 'success'
    runs-on: ubuntu-latest
    timeout-minutes: 60
    permissions:
      contents: read  # fetch the base branch and refs/pull/N/head (read, never run)
      pull-requests: read  # read the PR
      issues: write  # the sticky comment and the state labels
      statuses: write  # the final commit status
    steps:
      - name: Fetch the base branch and the pull request's head (no checkout of PR code)
        env:
          GH_TOKEN: ${{{{ github.token }}}}
          PR: ${{{{ needs.authorize.outputs.pr }}}}
          BASE_REF: ${{{{ needs.authorize.outputs.base }}}}
          SERVER: ${{{{ github.server_url }}}}
          REPO: ${{{{ github.repository }}}}
        run: |{fetch}
      - name: Install LEO
        run: |
          python3 -m venv "$RUNNER_TEMP/leo"
          # shellcheck disable=SC2086 # LEO_INSTALL holds several requirements
          "$RUNNER_TEMP/leo/bin/pip" install --quiet $LEO_INSTALL
      - name: Run the static sub-agents (they read the PR's files, never run them)
        env:
          HEAD_SHA: ${{{{ needs.authorize.outputs.sha }}}}
        run: |
          mkdir -p "$GITHUB_WORKSPACE/static"
          cd "$RUNNER_TEMP/repo"
          for agent in security design; do
            "$RUNNER_TEMP/leo/bin/leo" agent run "$agent" --repo . --base refs/leo/base \
              --head "$HEAD_SHA" --output "$GITHUB_WORKSPACE/static/$agent.json" -q \
              || echo "leo agent run $agent exited $?"
          done
      - name: Fetch the evidence
        uses: {download}
        continue-on-error: true
        with:
          name: leo-evidence
          path: evidence
      - name: Aggregate, sign the verdict and publish it
        env:
          GITHUB_TOKEN: ${{{{ github.token }}}}
          PR: ${{{{ needs.authorize.outputs.pr }}}}
          HEAD_SHA: ${{{{ needs.authorize.outputs.sha }}}}
          LEO_VSA_SIGNING_KEY: ${{{{ secrets.LEO_VSA_SIGNING_KEY }}}}
        run: |
          set -uo pipefail
          leo="$RUNNER_TEMP/leo/bin/leo"
          key="$RUNNER_TEMP/leo-vsa.key"
          (umask 077 && printf '%s\\n' "$LEO_VSA_SIGNING_KEY" > "$key")
          shopt -s nullglob
          "$leo" aggregate "$GITHUB_WORKSPACE"/static/*.json "$GITHUB_WORKSPACE"/evidence/*.json \
            --repo "$RUNNER_TEMP/repo" --head "$HEAD_SHA" --no-rerun --format json \
            --output leo-report.json --attest leo-vsa.json --sign "key:$key" -q
          echo "leo aggregate exited $?"
          rm -f "$key"
          # The public key is read from the base branch, never from the PR.
          git -C "$RUNNER_TEMP/repo" show refs/leo/base:.leo/vsa.pub > leo-vsa.pub
          "$leo" publish --pr "$PR" --report leo-report.json --attestation leo-vsa.json \
            --key leo-vsa.pub --context "$LEO_STATUS_CONTEXT"
"""

ACTION = """\
# LEO's composite action: `uses: <owner>/leo@<sha>` runs `leo verify --pr` on a pull request.
# It runs the PR's code (its tests): give it a read-only token, and publish from another job
# with `leo publish` (see docs/github.md), or pass publish: "true" only in trusted set-ups.
name: LEO Verify
description: Verify a pull request with LEO and (optionally) publish its status, comment and labels.
branding:
  icon: check-circle
  color: green
inputs:
  pr:
    description: Pull request number.
    required: true
  github-token:
    description: Token to read the PR (and to publish, when publish is true).
    required: true
  publish:
    description: Post the commit status, sticky comment and labels ("true" or "false").
    default: "false"
  wait:
    description: Wait for pending required checks ("true" or "false").
    default: "true"
  report:
    description: Where to write the JSON report.
    default: leo-report.json
outputs:
  verdict:
    description: PASS, FAIL, CONDITIONAL_PASS or ESCALATE.
    value: ${{ steps.verify.outputs.verdict }}
runs:
  using: composite
  steps:
    - name: Install bubblewrap, the sandbox the PR's code runs in
      shell: bash
      run: |
        if ! command -v bwrap >/dev/null 2>&1; then
          sudo apt-get update -qq
          sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap
        fi
        # Ubuntu 24.04 restricts unprivileged user namespaces through AppArmor.
        sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 || true
    - name: Install LEO from this action's checkout
      shell: bash
      run: |
        python3 -m venv "$RUNNER_TEMP/leo-action"
        "$RUNNER_TEMP/leo-action/bin/pip" install --quiet "$GITHUB_ACTION_PATH" \\
          "$GITHUB_ACTION_PATH"/plugins/*/
    - name: Verify
      id: verify
      shell: bash
      env:
        GITHUB_TOKEN: ${{ inputs.github-token }}
        LEO_PR: ${{ inputs.pr }}
        LEO_PUBLISH: ${{ inputs.publish }}
        LEO_WAIT: ${{ inputs.wait }}
        LEO_REPORT: ${{ inputs.report }}
      run: |
        args=(verify --pr "$LEO_PR" --format json --output "$LEO_REPORT")
        if [ "$LEO_PUBLISH" = "true" ]; then args+=(--publish); fi
        if [ "$LEO_WAIT" = "true" ]; then args+=(--wait); fi
        set +e
        "$RUNNER_TEMP/leo-action/bin/leo" "${args[@]}"
        code=$?
        set -e
        verdict=$("$RUNNER_TEMP/leo-action/bin/python" -c \\
          'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$LEO_REPORT" \\
          2>/dev/null || echo ESCALATE)
        echo "verdict=$verdict" >> "$GITHUB_OUTPUT"
        exit "$code"
"""


def render_workflow(
    source: Source = PLACEHOLDER, install: str | None = None, context: str = DEFAULT_CONTEXT
) -> str:
    """The ``/leo-verify`` workflow.

    ``source`` pins what the ``evidence`` and ``trusted`` jobs pip-install (LEO and the five
    sub-agents from that commit) unless ``install`` overrides it; ``context`` is the status.
    """
    install = source.requirements() if install is None else install
    for value, what in ((install, "--install"), (context, "--context")):
        if any(c in value for c in '"\\$`\n\r{}') or not value.strip():
            msg = f"{what} {value!r} may not contain quotes, backslashes, $, backticks, braces or newlines"
            raise LeoError(msg)
    return _WORKFLOW.format(
        version=__version__,
        repo=source.repo,
        sha=source.sha,
        fetch=_FETCH.rstrip("\n"),
        install=install,
        context=context,
        upload=pinned("actions/upload-artifact"),
        download=pinned("actions/download-artifact"),
    )


def render_action() -> str:
    """LEO's composite ``action.yml``, kept at the root of LEO's repository (a test checks it).

    It installs from its own checkout (``$GITHUB_ACTION_PATH``), so it belongs in LEO's
    repository only: a user's repository references it with ``uses: OWNER/REPO@<sha>``.
    """
    return ACTION


def write_workflow(root: Path, text: str, *, force: bool = False) -> Path:
    """Write the workflow below ``root``; refuse to overwrite unless ``force``."""
    path = root / WORKFLOW_PATH
    if path.exists() and not force:
        msg = f"{path} already exists; pass --force to overwrite it"
        raise LeoError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
