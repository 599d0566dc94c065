#!/usr/bin/env bash
# Release check: build the sdist and the wheel, run twine's metadata check, make sure the
# wheel carries the SQL schema and the UI's static files, then install only the wheel into
# a fresh virtual environment and run examples/hello with it, outside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
PYTHON=${PYTHON:-python}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "building sdist and wheel"
"$PYTHON" -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 || {
    cat "$work/build.log"
    exit 1
}
"$PYTHON" -m twine check --strict "$work"/dist/*

wheel=$(ls "$work"/dist/*.whl)
"$PYTHON" - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
needed = [
    "statemachine_engine/database/schema/sqlite/0001_initial.sql",
    "statemachine_engine/database/schema/sqlite/queries.sql",
    "statemachine_engine/database/schema/postgres/0001_initial.sql",
    "statemachine_engine/ui/static/index.html",
    "statemachine_engine/ui/static/vendor/mermaid.min.js",
    "statemachine_engine/py.typed",
]
missing = [name for name in needed if name not in names]
if missing:
    sys.exit(f"the wheel lacks {missing}")
print(f"wheel holds the schema and the UI ({len(names)} files)")
PY

echo "installing only the wheel into a fresh virtual environment"
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet "$wheel"
cd "$work"
"$work/venv/bin/statemachine" "$repo/examples/hello/hello.yaml" 2>"$work/hello.log"
grep -q "counting --enough--> completed" "$work/hello.log" || {
    cat "$work/hello.log"
    echo "examples/hello did not run to its end from the wheel" >&2
    exit 1
}
"$work/venv/bin/statemachine-ui" --help >/dev/null
"$work/venv/bin/statemachine-validate" "$repo/examples/hello/hello.yaml" >/dev/null
echo "release check passed: sdist and wheel build, twine check, wheel-only install runs hello"
