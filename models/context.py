"""The user context as text, one renderer for MovieLens, the synthetic data and structured JSONL.

    style = ContextStyle(history_len=10, history_ratings=True, item_details=True, demographics=True)
    render_context([HistoryItem("Heat (1995) | Action, Crime", 5.0)], "age 24, male, writer", style)
    # -> "user: age 24, male, writer. watched: Heat (1995) [Action, Crime] 5/5"

History is given oldest first; the context shows the newest `history_len` items, newest first (with
`truncation="longest_first"` a long context loses its oldest items, not its newest). An item's text
is "title | details" (MovieLens: "Heat (1995) | Action, Crime"); the details appear only with
`item_details`. A rating is a number on MovieLens' 1-5 scale ("5/5") or a string shown as given.
"""
from __future__ import annotations

from dataclasses import dataclass

RATING_SCALE = 5


@dataclass(frozen=True)
class ContextStyle:
    history_len: int = 3
    history_ratings: bool = False
    item_details: bool = False
    demographics: bool = False


@dataclass(frozen=True)
class HistoryItem:
    text: str
    rating: float | str | None = None


def rating_text(rating: float | str | None) -> str:
    if rating is None:
        return ""
    if isinstance(rating, str):
        return rating
    return f"{rating:g}/{RATING_SCALE}"


def history_entry(item: HistoryItem, style: ContextStyle) -> str:
    title, _, details = item.text.partition(" | ")
    # Candidate texts may carry a popularity word after a second " | ": it never enters the context.
    details = details.split(" | ")[0].strip()
    text = f"{title.strip()} [{details}]" if style.item_details and details else title.strip()
    rating = rating_text(item.rating) if style.history_ratings else ""
    return f"{text} {rating}" if rating else text


def render_context(history: list[HistoryItem], user: str | None, style: ContextStyle) -> str:
    recent = [history_entry(h, style) for h in reversed(history[-style.history_len:])]
    parts = [f"user: {user}"] if style.demographics and user else []
    parts.append("watched: " + ("; ".join(recent) if recent else "nothing yet"))
    return ". ".join(parts)


def user_text(fields: dict) -> str:
    """Free key/value demographics as text: {"age": 24, "occupation": "writer"} -> "age 24, occupation writer"."""
    return ", ".join(f"{key} {value}" for key, value in fields.items())
