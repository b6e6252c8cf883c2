#!/usr/bin/env bash
# Set up everything the assistant and its tests need, and do nothing that is already done:
#   1. the Debian packages in scripts/apt-packages.txt (apt-get update only when one is missing),
#   2. the virtual environment .venv/ (Python 3.11),
#   3. torch + torchvision at the versions that lie on this machine's disk (5.5 GB: only once),
#   4. the project itself, editable, with its dev tools (again only when pyproject.toml changed),
#      and with --with-ray (or in CI, where CI is set) the optional extra .[ray]: Ray Serve and
#      Ray Data for `serve --engine ray` and `classify --engine ray`,
#   5. the ONNX files of the bundled models (model/bundled/onnx/, named by their SHA-256), so
#      the app, `serve` and `classify` start without torch and without an export,
#   6. their int8 files and precision choice for this CPU kind (model/precision.py), measured
#      on their own photos where those are on this machine.
# Safe to run again and again; a second run takes about a second.
set -euo pipefail

EXTRAS=dev
for arg in "$@"; do
    case "$arg" in
        --with-ray) EXTRAS=dev,ray ;;
        *) printf 'setup: unknown option %s (the one option is --with-ray)\n' "$arg" >&2; exit 2 ;;
    esac
done
# CI runs the tests that need Ray too: they would only be skipped without it
if [ -n "${CI:-}" ]; then EXTRAS=dev,ray; fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
VENV="$ROOT/.venv"
TORCH_PINS=(torch==2.14.1 torchvision==0.29.1)
# the label reader's engine; without its dependencies (pyproject.toml lists them): it asks for
# opencv-python, which would overwrite opencv-python-headless's cv2 and bring a second Qt
OCR_PIN=rapidocr-onnxruntime==1.4.4
STAMP="$VENV/.grocery-setup-stamp"

say() { printf 'setup: %s\n' "$*" >&2; }

# Two setups at once (two terminals, parallel test runs) would trip over each other in pip.
if command -v flock >/dev/null 2>&1; then
    exec 9>"${TMPDIR:-/tmp}/grocery-assistant-setup-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1).lock"
    flock 9
fi

# --- 1. Debian packages --------------------------------------------------------------------
apt_packages() {
    local list="$ROOT/scripts/apt-packages.txt" missing=() pkg
    [ -f "$list" ] || return 0
    if ! command -v dpkg-query >/dev/null 2>&1; then
        say "not a Debian-like system: install the packages in scripts/apt-packages.txt yourself"
        return 0
    fi
    while read -r pkg; do
        [ -n "$pkg" ] || continue
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$pkg")
    done < <(sed -e 's/#.*//' -e 's/[[:space:]]\+/\n/g' "$list" | sed '/^$/d' | sort -u)
    [ ${#missing[@]} -gt 0 ] || return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            say "cannot install ${missing[*]} (not root and no sudo); the app may lack speech or a screen"
            return 0
        fi
    fi
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
apt_packages

# --- 2. virtual environment ----------------------------------------------------------------
pick_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' \
                2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    say "Python 3.11 (or 3.12) is needed; set PYTHON=/path/to/python3.11"
    return 1
}
if [ ! -x "$VENV/bin/python" ]; then
    python=$(pick_python)
    say "creating the virtual environment .venv with $($python --version)"
    "$python" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

# --- 3. torch + torchvision (only when missing or at another version) -----------------------
installed_torch() {
    "$VENV/bin/python" - <<'EOF' 2>/dev/null
from importlib.metadata import version
print(f"torch=={version('torch').split('+')[0]} torchvision=={version('torchvision').split('+')[0]}")
EOF
}
if [ "$(installed_torch || true)" != "${TORCH_PINS[*]}" ]; then
    say "installing ${TORCH_PINS[*]} (about 5.5 GB from this machine's disk; takes several minutes)"
    "${PIP[@]}" install -qq --progress-bar off "${TORCH_PINS[@]}"
fi

# --- 4. the project and its dev tools (only when pyproject.toml changed) --------------------
want="$(sha256sum pyproject.toml | cut -d' ' -f1) ${TORCH_PINS[*]} $OCR_PIN [$EXTRAS]"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
    say "installing the project and its dev tools (pip install -e '.[$EXTRAS]')"
    "${PIP[@]}" install -qq --progress-bar off -e ".[$EXTRAS]" "${TORCH_PINS[@]}"
    "${PIP[@]}" install -qq --progress-bar off --no-deps "$OCR_PIN"
    printf '%s\n' "$want" >"$STAMP"
fi
# --- 5. the bundled models' ONNX files (only when missing, stale or damaged) --------------------
if ! "$VENV/bin/python" -m model.export --ready "$ROOT"/model/bundled/*.safetensors >/dev/null; then
    say "could not prepare the bundled models for ONNX Runtime; the app will try again at start"
fi
# --- 6. their precision on this CPU kind (int8 only where measured as accurate as fp32) ------
# Measured once per CPU kind on the models' own photos when they are here (a minute or two a
# model); without them the models run in fp32, which is always right.
# CI skips it: the tests make their own tiny models' choices, and minutes of measuring there
# would test nothing more.
if [ -n "${CI:-}" ]; then
    say "CI: the bundled models' int8 precision is not measured; they run in fp32"
elif ! "$VENV/bin/python" -m model.precision "$ROOT"/model/bundled/*.safetensors >&2; then
    say "could not measure the bundled models' int8 precision; they run in fp32"
fi
say "ready ($VENV)"
