"""Every user command, declared once: the QActions, the F1 help and the spoken help come from here.

In the manner of NVDA's script(description=, gesture=): one row names the command and binds its
default key; its words, in each language, are the catalogue's (assistant.catalog.commands). The
window implements one method per row (`handler`); settings may override a key
(settings.shortcuts = {command id: "Ctrl+J"}).

Why these keys: screen readers own Insert/CapsLock combinations and use single letters for
quick navigation, so every key here is an F-key, Escape, or a Ctrl combination. Space is NOT
bound: a window-wide Space shortcut would swallow the Space that presses a focused button or
ticks a check box, and keyboard users would lose the way to operate controls.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from assistant.catalog import SPOKEN_KEYS, localized, phrase

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    """One thing the user can ask for by key, menu or help."""

    id: str
    shortcut: str  # portable text, e.g. "Ctrl+Up"
    handler: str  # method name on the main window

    def describe(self, language: str) -> str:
        """What it does, as spoken and shown (the catalogue's "command_<id>_desc")."""
        return phrase(f"command_{self.id}_desc", language)

    def title(self, language: str) -> str:
        """Its short name for a button or menu item (the catalogue's "command_<id>")."""
        return phrase(f"command_{self.id}", language)


COMMANDS: tuple[Command, ...] = (
    Command("identify", "F5", "identify_now"),
    Command("continuous", "F6", "toggle_continuous"),
    Command("repeat", "F2", "repeat_last"),
    Command("stop", "Escape", "stop_speech"),
    Command("read", "F7", "read_text"),
    Command("date", "F8", "read_date"),
    Command("faster", "Ctrl+Up", "speak_faster"),
    Command("slower", "Ctrl+Down", "speak_slower"),
    Command("louder", "Ctrl+Shift+Up", "speak_louder"),
    Command("softer", "Ctrl+Shift+Down", "speak_softer"),
    Command("language", "Ctrl+L", "switch_language"),
    Command("camera", "Ctrl+K", "choose_camera"),
    Command("settings", "Ctrl+,", "open_settings"),
    Command("maintainer", "Ctrl+Shift+M", "open_maintainer"),
    Command("help", "F1", "spoken_help"),
    Command("quit", "Ctrl+Q", "quit_app"),
)

BY_ID = {c.id: c for c in COMMANDS}


def effective_shortcuts(overrides: dict[str, str] | None) -> dict[str, str]:
    """Command id -> key for this user: defaults, with valid and unambiguous overrides applied.

    A bad override (unknown command, unreadable key, a key already taken) is ignored with a
    warning, so a hand-edited settings file can never leave a command without its key.
    """
    keys = {c.id: c.shortcut for c in COMMANDS}
    for cid, text in (overrides or {}).items():
        if cid not in keys:
            log.warning("shortcut override for unknown command %r ignored", cid)
            continue
        seq = QKeySequence.fromString(str(text), QKeySequence.SequenceFormat.PortableText)
        portable = seq.toString(QKeySequence.SequenceFormat.PortableText)
        if seq.isEmpty() or seq.count() != 1 or not portable:
            log.warning("shortcut %r for %s is not a key; keeping %s", text, cid, keys[cid])
            continue
        taken = [other for other, key in keys.items() if other != cid and _same(key, portable)]
        if taken:
            log.warning("shortcut %s for %s is already used by %s; keeping %s",
                        portable, cid, taken[0], keys[cid])
            continue
        keys[cid] = portable
    return keys


def _same(a: str, b: str) -> bool:
    return QKeySequence(a).matches(QKeySequence(b)) == QKeySequence.SequenceMatch.ExactMatch


def build_actions(window, overrides: dict[str, str] | None = None,
                  language: str = "en") -> dict[str, QAction]:
    """One QAction per command, added to `window` (so its key works wherever focus is inside
    it) and triggering window.<handler>()."""
    keys = effective_shortcuts(overrides)
    actions: dict[str, QAction] = {}
    for cmd in COMMANDS:
        action = QAction(window)
        action.setObjectName(f"action_{cmd.id}")
        action.setShortcut(QKeySequence(keys[cmd.id]))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if cmd.id == "continuous":
            action.setCheckable(True)
        # the checked flag of a checkable action is not the command's argument: drop it
        action.triggered.connect(lambda _checked=False, h=cmd.handler: getattr(window, h)())
        window.addAction(action)
        actions[cmd.id] = action
    retranslate_actions(actions, language)
    return actions


def retranslate_actions(actions: dict[str, QAction], language: str) -> None:
    for cid, action in actions.items():
        cmd = BY_ID[cid]
        action.setText(cmd.title(language))
        action.setToolTip(f"{cmd.describe(language)} ({shown_key(action.shortcut(), language)})")


def shown_key(seq: QKeySequence | str, language: str = "en") -> str:
    """A key as printed on screen: 'Ctrl+Up'."""
    seq = QKeySequence(seq) if isinstance(seq, str) else seq
    return seq.toString(QKeySequence.SequenceFormat.NativeText)



def spoken_key(seq: QKeySequence | str, language: str = "en") -> str:
    """A key as a speech engine should say it: 'Control Shift Up arrow'."""
    seq = QKeySequence(seq) if isinstance(seq, str) else seq
    text = seq.toString(QKeySequence.SequenceFormat.PortableText)
    words = localized(SPOKEN_KEYS, language)
    # the plus key itself ("Ctrl++") would split into empty parts
    parts = [*text[:-2].split("+"), "+"] if text.endswith("++") else text.split("+")
    return " ".join(words.get(p, p) for p in parts)


def help_rows(actions: dict[str, QAction] | None, language: str) -> list[tuple[str, str, str]]:
    """(command id, key as shown, description) for every command, in table order."""
    keys = ({cid: a.shortcut() for cid, a in actions.items()} if actions
            else {c.id: QKeySequence(c.shortcut) for c in COMMANDS})
    return [(c.id, shown_key(keys[c.id], language), c.describe(language)) for c in COMMANDS]


def spoken_help(actions: dict[str, QAction] | None, language: str) -> str:
    """All commands as one sentence per command: 'F5: identify the product ...'."""
    keys = ({cid: a.shortcut() for cid, a in actions.items()} if actions
            else {c.id: QKeySequence(c.shortcut) for c in COMMANDS})
    return " ".join(f"{spoken_key(keys[c.id], language)}: {c.describe(language)}."
                    for c in COMMANDS)


def markdown_table(language: str = "en") -> str:
    """The README's table of keys (`python -m assistant.ui.commands` prints it)."""
    rows = ["| Key | What it does |", "| --- | --- |"]
    rows += [f"| `{key}` | {description} |" for _cid, key, description in help_rows(None, language)]
    return "\n".join(rows)


if __name__ == "__main__":
    import sys
    print(markdown_table(sys.argv[1] if len(sys.argv) > 1 else "en"))
