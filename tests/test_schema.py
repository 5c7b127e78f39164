"""The published JSON Schema matches the models and says how consumers treat later fields."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from leo.models import Report, report_schema

DOCS = Path(__file__).resolve().parent.parent / "docs"
SCHEMA = DOCS / "report.schema.json"


def _example() -> dict:
    text = (DOCS / "report-schema.md").read_text()
    (block,) = re.findall(r"## Example\n\n```json\n(.*?)```", text, re.S)
    return json.loads(block)


def test_docs_schema_is_generated_from_the_models():
    assert json.loads(SCHEMA.read_text()) == report_schema(), (
        "docs/report.schema.json is stale: regenerate it with `leo schema > docs/report.schema.json`"
    )


def test_schema_names_its_dialect_requires_the_version_and_explains_later_fields():
    schema = report_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"][0] == "schema_version"
    assert "ignore properties they do not know" in schema["$comment"]
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_documented_example_validates_against_the_schema_and_the_models():
    example = _example()
    jsonschema.validate(example, report_schema(), cls=jsonschema.Draft202012Validator)
    assert Report.model_validate(example).verdict == "FAIL"


def test_a_report_with_a_later_field_still_validates_but_an_unknown_version_does_not():
    later = {**_example(), "added_in_a_later_leo": {"x": 1}}
    later["agents"][0]["new_field"] = True
    jsonschema.validate(later, report_schema(), cls=jsonschema.Draft202012Validator)
    for bad in (
        {**later, "schema_version": 2},
        {k: v for k, v in later.items() if k != "schema_version"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, report_schema(), cls=jsonschema.Draft202012Validator)
