"""The published JSON Schema matches the models."""

from __future__ import annotations

import json
from pathlib import Path

from leo.models import Report

SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "report.schema.json"


def test_docs_schema_is_generated_from_the_models():
    assert json.loads(SCHEMA.read_text()) == Report.model_json_schema(), (
        "docs/report.schema.json is stale: regenerate it with `leo schema > docs/report.schema.json`"
    )
