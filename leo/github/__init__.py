"""LEO on GitHub: read a pull request, verify it, publish a required status, a comment and labels.

One concept per module: ``client`` (auth, timeouts, retries), ``settings`` (``[tool.leo.github]``),
``pull`` (reading the PR), ``fetch`` (the PR as a ``Change``), ``gates`` (other required checks),
``status``, ``comment`` and ``labels`` (publishing), ``workflow`` (``leo init github``) and
``verify`` (the ``leo verify --pr`` flow that ties them together).
"""

from __future__ import annotations
