#!/usr/bin/env bash
# The window as people see it, for the README: each language at 100 % and 200 % scale, on a
# virtual screen (Xvfb), the bundled demo playing, grabbed from the X server after a while;
# then maintainer mode in each language (scripts/screenshot_maintainer.py).
#   bash scripts/screenshots.sh [OUT_DIR]      (default: assets/screenshots)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${1:-assets/screenshots}
WAIT=${WAIT:-25}
mkdir -p "$OUT"
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
display=97
for lang in en es; do
    for scale in 1 2; do
        width=$((1280 * scale)) height=$((800 * scale))
        Xvfb ":$display" -screen 0 "${width}x${height}x24" -nolisten tcp &
        xvfb=$!
        sleep 1
        DISPLAY=":$display" QT_SCALE_FACTOR=$scale GROCERY_ASSISTANT_HOME="$home" \
            .venv/bin/python main.py app --source assets/demo --language "$lang" --engine silent &
        app=$!
        sleep "$WAIT"
        name="$OUT/window-$lang-$((scale * 100)).png"
        # the whole X screen, as a person would see it (Qt reads the root window of the server)
        DISPLAY=":$display" QT_QPA_PLATFORM=xcb .venv/bin/python -c "import sys
from PySide6.QtGui import QGuiApplication
app = QGuiApplication(sys.argv[:1])
sys.exit(0 if app.primaryScreen().grabWindow(0).save(sys.argv[1]) else 1)" "$name"
        echo "$name"
        kill "$app" 2>/dev/null || true
        wait "$app" 2>/dev/null || true
        kill "$xvfb" 2>/dev/null || true
        wait "$xvfb" 2>/dev/null || true
    done
done
# maintainer mode, as Ctrl+Shift+M opens it, in each language (an empty home of its own)
for lang in en es; do
    suffix=$([ "$lang" = en ] && echo "" || echo "-$lang")
    maint_home=$(mktemp -d)
    GROCERY_ASSISTANT_HOME="$maint_home" xvfb-run -a -s "-screen 0 1280x900x24" \
        .venv/bin/python scripts/screenshot_maintainer.py "$lang" "$OUT/maintainer$suffix.png"
    rm -rf "$maint_home"
done
