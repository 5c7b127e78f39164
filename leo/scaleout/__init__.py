"""CI at scale: each sub-agent in its own CI job (``leo agent run``), one job that aggregates."""
