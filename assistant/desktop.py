"""`grocery-assistant desktop install|remove|show`: the freedesktop menu entry and its icon.

A blind user starts programs from the desktop menu or a launcher with a screen reader, not from
a terminal in a checkout: the entry's Name and Comment (what the screen reader says) come from
the catalogue in every language, and Exec points at the command that was installed.
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from pathlib import Path

from assistant import paths
from assistant.catalog import phrase
from assistant.catalog.languages import LANGUAGES

APP_ID = "grocery-assistant"
ICON = paths.ASSETS_DIR / "icons" / f"{APP_ID}.svg"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("install", "remove", "show"),
                        help="install the menu entry and icon for this user, remove them, or "
                             "print the entry")
    parser.add_argument("--prefix", type=Path, metavar="DIR",
                        help="the data folder to install into (default: $XDG_DATA_HOME, "
                             "else ~/.local/share)")


def data_home(prefix: Path | None = None) -> Path:
    if prefix is not None:
        return prefix
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def command() -> str:
    """The command line that starts this installation's window, for Exec=."""
    script = Path(sys.argv[0])
    if script.name == APP_ID and script.is_file():
        return shlex.quote(str(script.resolve()))
    beside = Path(sys.executable).parent / APP_ID
    if beside.is_file():
        return shlex.quote(str(beside))
    found = shutil.which(APP_ID)
    if found:
        return shlex.quote(found)
    return f"{shlex.quote(sys.executable)} -m assistant"


def entry(exec_line: str | None = None) -> str:
    """The .desktop file's text (freedesktop Desktop Entry Specification 1.5)."""
    lines = ["[Desktop Entry]", "Type=Application", "Version=1.5"]
    for key, message_id in (("Name", "app_title"), ("GenericName", "app_generic_name"),
                            ("Comment", "app_comment")):
        lines.append(f"{key}={phrase(message_id, 'en')}")
        lines.extend(f"{key}[{lang}]={phrase(message_id, lang)}" for lang in LANGUAGES
                     if lang != "en")
    lines += [f"Exec={exec_line or command()} app", f"Icon={APP_ID}", "Terminal=false",
              "Categories=Utility;Accessibility;", "Keywords=grocery;shopping;blind;camera;",
              "StartupNotify=true"]
    return "\n".join(lines) + "\n"


def targets(prefix: Path | None = None) -> tuple[Path, Path]:
    home = data_home(prefix)
    return (home / "applications" / f"{APP_ID}.desktop",
            home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg")


def run(args: argparse.Namespace) -> int:
    from assistant.files import atomic_write_bytes, atomic_write_text
    desktop, icon = targets(args.prefix)
    if args.action == "show":
        print(entry(), end="")
        return 0
    if args.action == "remove":
        for path in (desktop, icon):
            path.unlink(missing_ok=True)
        print(f"removed {desktop}")
        return 0
    atomic_write_bytes(icon, ICON.read_bytes())
    atomic_write_text(desktop, entry())
    print(f"installed {desktop}")
    return 0
