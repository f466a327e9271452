"""The pack's JSON Schemas are checked with their `#/$defs/` references resolved once (validation.inlined):
the same verdicts and the same error messages, at the same places, as through the references."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from orchestra import validation, yamlcheck

SCHEMAS = sorted(p.stem for p in validation.SCHEMA_DIR.glob("*.json"))


def _errors(schema: dict, instance: object) -> list[tuple[list, str, str]]:
    checker = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    found = checker.iter_errors(instance)
    return sorted((list(e.absolute_path), e.validator, e.message) for e in found)


def _no_refs_left(node: object) -> bool:
    if isinstance(node, dict):
        return all(_no_refs_left(v) for k, v in node.items() if k != "$defs") and "$ref" not in node
    if isinstance(node, list):
        return all(_no_refs_left(v) for v in node)
    return True


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_local_reference_of_the_pack_schemas_is_resolved(name: str) -> None:
    assert _no_refs_left(validation.inlined(validation.load_schema(name)))


BAD_SPRINT = """\
id: Not An Id
name: 7
start: 2026-02-30x
tasks:
  - id: ok-task
    title: fine
    estimate: 3
  - id: bad id
    title: [not, text]
    estimate: -1
    assignee: 12
    dependencies: [ok-task, "no spaces allowed"]
    nonsense: true
"""


def test_a_sprint_file_full_of_mistakes_gets_the_same_errors_either_way() -> None:
    schema = validation.load_schema("sprint")
    instance = yaml.safe_load(BAD_SPRINT)
    through_refs = _errors(schema, instance)
    assert len(through_refs) >= 5
    assert _errors(validation.inlined(schema), instance) == through_refs


def test_a_definition_that_refers_to_itself_keeps_its_reference_and_still_checks() -> None:
    schema = {
        "$defs": {"node": {"type": "object", "properties": {"name": {"type": "string"},
                                                           "children": {"type": "array",
                                                                        "items": {"$ref": "#/$defs/node"}}}}},
        "$ref": "#/$defs/node",
    }
    resolved = validation.inlined(schema)
    assert json.dumps(resolved).count('"$ref"') == 2  # in $defs and at the first level of recursion
    bad = {"name": "a", "children": [{"name": "b", "children": [{"name": 3}]}]}
    assert _errors(resolved, bad) == _errors(schema, bad) == [
        (["children", 0, "children", 0, "name"], "type", "3 is not of type 'string'")]


def test_an_annotation_beside_a_reference_is_kept() -> None:
    schema = {"$defs": {"small": {"type": "integer", "maximum": 3}},
              "properties": {"n": {"$ref": "#/$defs/small", "description": "how many"}}}
    resolved = validation.inlined(schema)
    assert resolved["properties"]["n"] == {"allOf": [{"type": "integer", "maximum": 3}], "description": "how many"}
    assert _errors(resolved, {"n": 5}) == _errors(schema, {"n": 5})


def test_a_yaml_error_reads_the_same_with_or_without_libyaml(tmp_path: Path) -> None:
    path = tmp_path / "sprint.yaml"
    path.write_text("id: s\ntasks:\n  - id: a\n    title: x: y\n", encoding="utf-8")
    with pytest.raises(ValueError) as fast:
        yamlcheck.read_mapping(path)
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)  # noqa: S506
    assert str(fast.value) == (f"{path}:4: not valid YAML ({pure.value.problem}); a value holding `: ` must be put "
                               "in quotes, and a key must not be indented deeper than the keys above it")
