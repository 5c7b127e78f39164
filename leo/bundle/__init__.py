"""Builder bundles: create, read without extracting, sign, verify, and audit the handoffs.

Heavy libraries (securesystemslib, sigstore, cyclonedx-python-lib) load inside the modules
that use them; importing this package costs nothing.
"""

from __future__ import annotations
