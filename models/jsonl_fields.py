"""The structured keys of a JSONL request, checked as strictly as the rest of the line.

Instead of a prebuilt "context", a line may give what the context is made of, and it is then
rendered as MovieLens' is (models.context, under the data config's history_len, history_ratings,
item_details and demographics):

    "user_id": "u7",                                      # also: who the request is for (CF baseline)
    "history": [{"id": "i3", "text": "Heat (1995) | Action, Crime", "rating": 5}, ...],  # oldest first
    "user": {"age": 24, "gender": "male", "occupation": "writer"}

`rating` is optional: a number on the 1-5 scale (shown "5/5") or a string shown as given. `user` is
an object whose values are strings or numbers (shown "age 24, gender male") or a string shown as
given. A line gives either "context" or "history"/"user", not both.
"""
from __future__ import annotations

from dataclasses import dataclass

from rankbench.models.context import RATING_SCALE, ContextStyle, HistoryItem, render_context, user_text

HISTORY_KEYS = {"id", "text", "rating"}


class FieldError(ValueError):
    """A problem with one structured key; the caller adds the file and line."""


@dataclass(frozen=True)
class Structured:
    context: str
    user: str | None  # the user id, when the line names one
    history_ids: tuple[str, ...]  # the items the history names, oldest first


def as_id(value, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise FieldError(f"{what} must be a string or an integer, got {value!r}")
    return str(value)


def _rating(value, what: str) -> float | str:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= RATING_SCALE:
        raise FieldError(f"{what} must be a number from 0 to {RATING_SCALE} or a non-empty string, got {value!r}")
    return float(value)


def _history(raw) -> list[tuple[str, HistoryItem]]:
    if not isinstance(raw, list):
        raise FieldError("'history' must be a list of objects (oldest first)")
    out = []
    for k, entry in enumerate(raw):
        where = f"history[{k}]"
        if not isinstance(entry, dict):
            raise FieldError(f"{where} must be an object")
        unknown = set(entry) - HISTORY_KEYS
        if unknown:
            raise FieldError(f"{where} has unknown keys {sorted(unknown)}")
        for key in ("id", "text"):
            if key not in entry:
                raise FieldError(f"{where} lacks {key!r}")
        if not isinstance(entry["text"], str) or not entry["text"].strip():
            raise FieldError(f"{where}.text must be a non-empty string")
        rating = _rating(entry["rating"], f"{where}.rating") if "rating" in entry else None
        out.append((as_id(entry["id"], f"{where}.id"), HistoryItem(entry["text"], rating)))
    return out


def _user(raw) -> str:
    if isinstance(raw, str) and raw.strip():
        return raw  # prebuilt text, e.g. MovieLens' "age 24, male, writer"
    if not isinstance(raw, dict):
        raise FieldError("'user' must be an object of demographics, e.g. {\"age\": 24, \"occupation\": \"writer\"}, "
                         "or a non-empty string")
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise FieldError(f"user.{key} must be a string or a number, got {value!r}")
    return user_text(raw)


def structured(raw: dict, style: ContextStyle) -> Structured:
    """The context and the user of a parsed line (a dict with the keys already checked as known)."""
    user_id = as_id(raw["user_id"], "'user_id'") if "user_id" in raw else None
    given = [key for key in ("history", "user") if key in raw]
    if "context" in raw:
        if given:
            raise FieldError(f"give either 'context' or {' and '.join(map(repr, given))}, not both")
        if not isinstance(raw["context"], str):
            raise FieldError("'context' must be a string")
        return Structured(raw["context"], user_id, ())
    if not given:
        raise FieldError("missing 'context' (or 'history' and/or 'user' to build it from)")
    history = _history(raw.get("history", []))
    demographics = _user(raw["user"]) if "user" in raw else None
    context = render_context([item for _, item in history], demographics, style)
    return Structured(context, user_id, tuple(item_id for item_id, _ in history))
