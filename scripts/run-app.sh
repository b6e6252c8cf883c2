#!/usr/bin/env bash
# Open the assistant (arguments go to `python main.py`, e.g. `--source demo` or `train --help`).
# On a machine without a screen the window opens on a virtual one (xvfb-run), so the assistant
# still watches its source and speaks; if xvfb-run is missing, Qt draws offscreen instead.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=.venv/bin/python
if [ ! -x "$PYTHON" ]; then
    echo "run-app: no .venv here yet; run 'bash scripts/setup.sh' first" >&2
    exit 1
fi

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
    if command -v xvfb-run >/dev/null 2>&1; then
        echo "run-app: no screen here (DISPLAY is empty): opening the assistant on a virtual" \
             "screen (xvfb-run). Nothing is shown, but it runs and speaks; add -v to see its log" \
             "here; Ctrl+C stops it." >&2
        exec xvfb-run --auto-servernum --server-args="-screen 0 1280x800x24" "$PYTHON" main.py "$@"
    fi
    echo "run-app: no screen here and no xvfb-run: Qt draws offscreen (QT_QPA_PLATFORM=offscreen)." \
         "Nothing is shown, but it runs and speaks; add -v to see its log here; Ctrl+C stops it." >&2
    export QT_QPA_PLATFORM=offscreen
fi
exec "$PYTHON" main.py "$@"
