#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image (Ubuntu 22.04 by
# default). It installs Python >= 3.11 (Ubuntu 22.04's own python3.11 from universe where the
# system Python is older), bubblewrap and libseccomp2 (the grading sandbox), and backproplab
# from the wheel in this bundle into /opt/backproplab; then it makes everything a student's
# code must not read root-only. The root is $BACKPROPLAB_AUTOGRADER_ROOT (default /autograder).
set -euo pipefail
ROOT="${BACKPROPLAB_AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="${BACKPROPLAB_VENV:-/opt/backproplab}"
export DEBIAN_FRONTEND=noninteractive

new_enough() { "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }

apt-get update -qq
apt-get install -y -qq bubblewrap libseccomp2 ca-certificates >/dev/null
PYTHON=""
for candidate in python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 && new_enough "$candidate"; then PYTHON="$candidate"; break; fi
done
if [ -z "$PYTHON" ]; then
    # Ubuntu 22.04 (jammy) ships Python 3.10; its universe component has python3.11. Where that
    # is not available, the deadsnakes PPA has it.
    if ! apt-get install -y -qq python3.11 python3.11-venv >/dev/null; then
        apt-get install -y -qq software-properties-common >/dev/null
        add-apt-repository -y ppa:deadsnakes/ppa
        apt-get update -qq
        apt-get install -y -qq python3.11 python3.11-venv >/dev/null
    fi
    PYTHON=python3.11
fi
new_enough "$PYTHON" || { echo "setup.sh: no Python >= 3.11 with venv could be installed" >&2; exit 1; }

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "$SOURCE"/backproplab-*.whl
"$VENV/bin/python" -c "import backproplab, numpy" || { echo "setup.sh: installing backproplab failed" >&2; exit 1; }

# Root-only: the answer keys and the roster map (the runner deletes them before any student
# code runs, too), and the installed hidden tests and reference solutions (the grader reads
# them as root; student code runs in bubblewrap or, in the fallback, as uid 65534).
chmod -R go-rwx "$SOURCE/backproplab/private"
DATA="$("$VENV/bin/python" -c 'import backproplab, pathlib; print(pathlib.Path(backproplab.__file__).parent / "_data")')"
chmod -R go-rwx "$DATA/solutions" "$DATA/autograder"
command -v bwrap >/dev/null 2>&1 && echo "setup.sh: bubblewrap $(bwrap --version 2>/dev/null | cut -d' ' -f2) installed"
echo "setup.sh: backproplab installed in $VENV with $("$VENV/bin/python" --version)"
