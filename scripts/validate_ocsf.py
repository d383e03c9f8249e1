"""Validates OCSF events against the OCSF JSON Schema (package ocsf-json-schema).

Usage: validate_ocsf.py VERSION FILE...   (JSON Lines, or Parquet files / folders of them)

Each JSON line (or Parquet row, with its JSON-text members parsed back) is
checked against the schema of its class_uid in OCSF VERSION with the
profiles it names in metadata.profiles. Prints one JSON object:
{"checked": N, "invalid": [{"file", "line", "errors": [...]}], "classes": {...}}.
Exit 0 when every event validates, 1 otherwise.
"""

import json
import pathlib
import sys

from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema


def events_of(path):
    path = pathlib.Path(path)
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    for file in files:
        if file.suffix == ".parquet":
            import pyarrow.parquet as pq

            for number, row in enumerate(pq.read_table(file).to_pylist(), 1):
                yield str(file), number, parquet_row_to_event(row)
        else:
            for number, line in enumerate(file.read_text().splitlines(), 1):
                if line.strip():
                    yield str(file), number, json.loads(line)


def parquet_row_to_event(row):
    """Drops nulls (OCSF has none) and parses JSON-text members back."""

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    event = clean(row)
    for evidence in event.get("evidences", []):
        if isinstance(evidence.get("data"), str):
            evidence["data"] = json.loads(evidence["data"])
    return event


def main():
    version, paths = sys.argv[1], sys.argv[2:]
    schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=version))
    validators = {}
    checked, invalid, classes = 0, [], {}
    for path in paths:
        for file, line, event in events_of(path):
            checked += 1
            class_uid = event.get("class_uid")
            profiles = tuple(sorted(event.get("metadata", {}).get("profiles", [])))
            key = (class_uid, profiles)
            if key not in validators:
                name = schema.lookup_class_name_from_uid(class_uid=class_uid)
                validators[key] = Draft202012Validator(
                    schema.get_class_schema(class_name=name, profiles=list(profiles))
                )
            classes[str(class_uid)] = classes.get(str(class_uid), 0) + 1
            errors = [
                f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
                for e in validators[key].iter_errors(event)
            ]
            if errors:
                invalid.append({"file": file, "line": line, "errors": errors[:10]})
    print(json.dumps({"checked": checked, "invalid": invalid, "classes": classes}))
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
