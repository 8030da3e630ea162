"""Snippets: a short piece of a message's text with its matches inside <mark>, and every other
character HTML-escaped, so a page may insert it as HTML.

The text is the message's source (Markdown as typed), never its rendering: what was typed is what is
shown, escaped. PostgreSQL's `ts_headline` chooses the piece and says where the matches are with two
sentinel characters (private-use code points, removed from the text beforehand so a message cannot
forge them); its output is never taken as HTML. Elsewhere the piece is cut around the first match.
"""

from __future__ import annotations

import html

# Private-use code points: no text shows them, and the SQL strips them from the body it highlights.
START = "\ue000"
STOP = "\ue001"
# ts_headline treats `<...>` as markup and drops it: these stand for `<`, `>` and `&` while it works.
STAND_INS = {"<": "\ue002", ">": "\ue003", "&": "\ue004"}
RESERVED = START + STOP + "".join(STAND_INS.values())

ELLIPSIS = "…"
CONTEXT = 60  # characters kept before the first match
LENGTH = 200  # characters in a snippet cut here (ts_headline counts words instead)


def clean(text: str) -> str:
    """`text` without the characters snippets reserve (a message cannot forge a mark)."""
    return text.translate({ord(char): None for char in RESERVED})


def from_headline(headline: str, body: str) -> str:
    """HTML for PostgreSQL's headline of `body` (with START/STOP around its matches)."""
    for char, stand_in in STAND_INS.items():
        headline = headline.replace(stand_in, char)
    plain = headline.replace(START, "").replace(STOP, "")
    out = html.escape(headline, quote=True).replace(START, "<mark>").replace(STOP, "</mark>")
    stripped = body.strip()
    if plain.strip() and not stripped.startswith(plain.strip()):
        out = ELLIPSIS + " " + out.lstrip()
    if plain.strip() and not stripped.endswith(plain.strip()):
        out = out.rstrip() + " " + ELLIPSIS
    return out


def from_ranges(text: str, ranges: list[tuple[int, int]]) -> str:
    """HTML for a piece of `text` around its first match, `ranges` (merged, in order) marked."""
    first = ranges[0][0] if ranges else 0
    start = 0
    if first > CONTEXT:
        # Start at a word, unless the words are so long that the match would fall out of the piece.
        start = text.rfind(" ", 0, first - CONTEXT + 1) + 1
        if first - start > 2 * CONTEXT:
            start = first - CONTEXT
    end = min(len(text), start + LENGTH)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > first else end
    out: list[str] = []
    at = start
    for begin, finish in ranges:
        if finish <= start or begin >= end:
            continue
        begin, finish = max(begin, start), min(finish, end)
        out.append(html.escape(text[at:begin], quote=True))
        out.append(f"<mark>{html.escape(text[begin:finish], quote=True)}</mark>")
        at = finish
    out.append(html.escape(text[at:end], quote=True))
    snippet = "".join(out).strip()
    if start > 0:
        snippet = f"{ELLIPSIS} {snippet}"
    if end < len(text):
        snippet = f"{snippet} {ELLIPSIS}"
    return snippet
