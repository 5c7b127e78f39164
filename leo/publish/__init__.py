"""Where a verdict goes besides the report: metrics, a Pushgateway and a signed attestation.

Shared by ``leo verify`` and ``leo aggregate`` (their options are
``leo.cli._options.publish_options``): ``options`` is what a command asked for, checked before
any work; ``delivery`` records the metrics during the run and sends everything after it.
"""
