"""Policies LEO ships and checks: signed policy bundles (``leo policy``)."""
