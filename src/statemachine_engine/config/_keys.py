"""Strict keys: which keys each part of a config may have, and the nearest known one
to suggest for a key that is not among them (``evnt:`` -> "did you mean `event`?")."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "EVENT_KEYS",
    "EXTENSION_PREFIX",
    "TOP_LEVEL_KEYS",
    "TRANSITION_KEYS",
    "unknown_key_message",
]

#: Keys of a machine config's top level (the earlier implementation's among them).
TOP_LEVEL_KEYS = frozenset(
    {
        "name",
        "description",
        "version",
        "initial_state",
        "states",
        "events",
        "transitions",
        "actions",
        "metadata",
        "groups",
        "max_time",
        "final",
        "template",
    }
)
TRANSITION_KEYS = frozenset({"from", "to", "event", "if", "description"})
EVENT_KEYS = frozenset({"context_map", "description"})
#: Top-level keys starting with this are the user's own (anchors, notes for tools):
#: ``x-defaults: &defaults {...}``, as in Compose files.
EXTENSION_PREFIX = "x-"

#: What people coming from other tools write for a key, beyond typos.
_SYNONYMS = {
    "when": "if",
    "guard": "if",
    "cond": "if",
    "condition": "if",
    "conditions": "if",
    "source": "from",
    "target": "to",
    "dest": "to",
    "trigger": "event",
    "on": "event",
    "initial": "initial_state",
}


def unknown_key_message(
    key: str, known: Iterable[str], where: str, *, listed: Iterable[str] | None = None
) -> str:
    """``unknown key 'evnt' in a transition: did you mean 'event'?``, else the known keys
    (``listed``, when only some of them are worth listing)."""
    options = sorted(known)
    nearest = _SYNONYMS.get(key) if _SYNONYMS.get(key) in options else None
    if nearest is None:
        import difflib  # an error message's hint: not worth loading on every start

        close = difflib.get_close_matches(key, options, n=1, cutoff=0.6)
        nearest = close[0] if close else None
    shown = options if listed is None else sorted(listed)
    hint = f"did you mean {nearest!r}?" if nearest else f"known keys: {', '.join(shown)}"
    return f"unknown key {key!r} in {where}: {hint}"
