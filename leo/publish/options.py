"""What a command asked to publish besides the report, checked before any work is done."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from leo.errors import LeoError


@dataclass(frozen=True)
class PublishOptions:
    """``--metrics-file``, ``--pushgateway``, ``--attest`` and ``--sign``, as given.

    Refused when made (``LeoError``) if they contradict each other, so a run never ends in a
    delivery that could not have worked.
    """

    metrics_file: Path | None = None
    pushgateway: str | None = None
    attest: Path | None = None
    sign_spec: str | None = None

    def __post_init__(self) -> None:
        if self.sign_spec and not self.attest:
            raise LeoError("--sign signs the attestation; pass --attest FILE with it")

    @property
    def metrics(self) -> bool:
        """Whether the run's metrics are to be recorded (for a file or a Pushgateway)."""
        return bool(self.metrics_file or self.pushgateway)
