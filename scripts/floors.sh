#!/usr/bin/env bash
# `make floors`: the fast tests (not slow) with lightning, torchmetrics, wandb, transformers and jsonargparse pinned
# to the floors pyproject.toml declares, and requirements.lock's versions of everything else (torch included).
# The venv lives in the cache beside setup.sh's, keyed by those floors, requirements.lock and the Python version:
# built once (pip's cache serves the wheels setup.sh already fetched), reused until one of them changes.
# Not part of CI. PYTEST_ARGS narrows the run, e.g. PYTEST_ARGS=tests/test_train.py.
set -euo pipefail
cd "$(dirname "$0")/.."

FIVE=(lightning torchmetrics wandb transformers jsonargparse)
PYTHON=${PYTHON:-python3}
cache=${CROSSPROBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crossprobe}

# name[extras]==floor of each of the five, from pyproject.toml's dependencies and extras
floors=$("$PYTHON" - "${FIVE[@]}" <<'PY'
import re
import sys
import tomllib

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
requirements = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
pattern = r"([A-Za-z0-9_.-]+)(\[[^]]*\])?>=([^,;\s]+)"
floors = {m[1].lower(): f"{m[1]}{m[2] or ''}=={m[3]}" for r in requirements if (m := re.match(pattern, r))}
print(" ".join(floors[name] for name in sys.argv[1:]))
PY
)
key=$( (echo "$floors"; cat requirements.lock; "$PYTHON" -c 'import sys; print(sys.version_info[:2])') | sha256sum | cut -c1-16)
venv="$cache/floors-$key"

if [ ! -f "$venv/.complete" ]; then
  echo "floors: building the venv $venv (requirements.lock, then $floors)"
  rm -rf "$cache"/floors-*  # one floors venv at a time (about 6 GB): the previous one goes
  mkdir -p "$cache"
  "$PYTHON" -m venv "$venv"
  # The lock's other pins constrain the second install: a floor that needs another version of one of them fails
  # here, and what a floor needs beyond the lock (wandb 0.26: sentry-sdk, GitPython) is added.
  grep -v -i -E "^($(IFS='|'; echo "${FIVE[*]}"))==" requirements.lock >"$venv/constraints.txt"
  log="$cache/floors-$key.log"
  # shellcheck disable=SC2086  # $floors is a list of requirements
  if ! { "$venv/bin/pip" install --no-input -r requirements.lock &&
         "$venv/bin/pip" install --no-input -c "$venv/constraints.txt" $floors; } >"$log" 2>&1; then
    tail -n 30 "$log"
    echo "floors: pip install failed; full log in $log" >&2
    exit 1
  fi
  touch "$venv/.complete"
fi

"$venv/bin/python" -c 'from importlib.metadata import version as v; import sys; print("floors: testing with",
    ", ".join(f"{d} {v(d)}" for d in sys.argv[1:]))' "${FIVE[@]}" torch
# shellcheck disable=SC2086  # PYTEST_ARGS: pytest's own arguments
"$venv/bin/python" -m pytest -q -m "not slow" ${PYTEST_ARGS:-}
