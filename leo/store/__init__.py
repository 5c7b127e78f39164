"""LEO's audit store: verdicts, gate runs, handoffs and LEAD decisions, hash-chained.

SQLite by default, PostgreSQL for teams (``LEO_DATABASE_URL``); see ``docs/audit.md``. This
package imports nothing heavy at import time so ``leo --help`` stays fast: the API lives in
``leo.store.repository`` and loads SQLAlchemy when used.
"""

from __future__ import annotations
