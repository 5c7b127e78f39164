# LEO in one image, for GitLab CI and any other runner: LEO, the five built-in sub-agents and
# their scanners (pip dependencies), git, bubblewrap and PostgreSQL's server binaries.
#   docker build -t leo .
#   docker run --rm -v "$PWD:/repo" leo verify --base origin/main --head HEAD
# See README.md, "Container image".

# Stage 1: the six wheels, built exactly as README's "Install" builds them.
FROM python:3.12-slim-bookworm AS wheels
WORKDIR /src
COPY pyproject.toml README.md LICENSE constraints.txt ./
COPY leo ./leo
COPY plugins ./plugins
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /dist . plugins/*/

# Stage 2: the runtime, without the sources.
FROM python:3.12-slim-bookworm
# git reads the change; bubblewrap sandboxes the PR's tests; postgresql provides initdb/pg_ctl
# for the Database sub-agent and the audit store (found under /usr/lib/postgresql/*/bin).
# Unpinned on purpose (hadolint DL3008): bookworm's archive keeps only the current version of
# each package, so a pin breaks the build at the next security update; the base tag fixes the
# release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git bubblewrap postgresql \
    && rm -rf /var/lib/apt/lists/*
COPY --from=wheels /dist /tmp/dist
COPY constraints.txt /tmp/constraints.txt
RUN python -m venv /opt/leo \
    && /opt/leo/bin/pip install --no-cache-dir -c /tmp/constraints.txt /tmp/dist/*.whl \
    && rm -rf /tmp/dist /tmp/constraints.txt
# initdb refuses to run as root; the mounted repository is read by this user. Only /repo is
# trusted despite its owner's uid differing from this user's (git's safe.directory). USER is
# numeric so runners that enforce non-root (Kubernetes runAsNonRoot) can verify it.
RUN useradd --create-home --uid 1000 --user-group leo \
    && git config --system --add safe.directory /repo
USER 1000:1000
ENV PATH=/opt/leo/bin:$PATH
WORKDIR /repo
ENTRYPOINT ["leo"]
CMD ["--help"]
