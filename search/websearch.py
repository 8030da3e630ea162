"""The search box's syntax, as PostgreSQL's `websearch_to_tsquery` reads it, for the databases that
lack it (SQLite, the embedded default) and for marking matches in a text there.

    release notes        both words (AND)
    "release notes"      the phrase
    -draft               not this word (or -"a phrase")
    deploy or release    either side: `or` splits the query into alternatives, each an AND of the
                         terms around it (`a b or c` is (a AND b) OR c, as PostgreSQL reads it)

Punctuation around a word is no part of it; an unclosed quote runs to the end; a leading or a
trailing `or` is a plain word. Terms match as case-insensitive substrings here (PostgreSQL matches
stemmed words instead): that is the fallback's whole difference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce

from django.db.models import Q

_PUNCTUATION = re.compile(r"^[^\w]+|[^\w]+$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Term:
    text: str  # a word, or a phrase's words joined by single spaces
    negated: bool = False


# An OR of alternatives, each an AND of terms.
Query = list[list[Term]]


def _tokens(text: str) -> list[tuple[str, bool, bool]]:
    """(text, negated, quoted) for each word or phrase, in order; empty ones dropped."""
    tokens: list[tuple[str, bool, bool]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negated = False
        if text[i] == "-":
            negated = True
            i += 1
            if i >= n or text[i].isspace():
                continue  # a lone "-" says nothing
        if text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            phrase = _SPACES.sub(" ", text[i + 1 : end]).strip()
            if phrase:
                tokens.append((phrase, negated, True))
            i = end + 1
            continue
        start = i
        while i < n and not text[i].isspace() and text[i] != '"':
            i += 1
        word = _PUNCTUATION.sub("", text[start:i])
        if word:
            tokens.append((word, negated, False))
    return tokens


def parse(text: str) -> Query:
    """`text` as alternatives of terms; [] when it has no term at all."""
    tokens = _tokens(text)
    alternatives: Query = [[]]
    for index, (word, negated, quoted) in enumerate(tokens):
        is_or = not quoted and not negated and word.lower() == "or"
        if is_or and 0 < index < len(tokens) - 1 and alternatives[-1]:
            alternatives.append([])
            continue
        alternatives[-1].append(Term(word, negated))
    return [terms for terms in alternatives if terms]


def positive_terms(query: Query) -> list[str]:
    """The texts a match may show (negated terms never appear in a match)."""
    seen: dict[str, None] = {}
    for terms in query:
        for term in terms:
            if not term.negated:
                seen.setdefault(term.text.lower(), None)
    return list(seen)


def as_filter(query: Query, field: str = "body") -> Q:
    """The query as a Django filter of case-insensitive substrings (LIKE on SQLite)."""

    def term_filter(term: Term) -> Q:
        found = Q(**{f"{field}__icontains": term.text})
        return ~found if term.negated else found

    def all_of(terms: Iterable[Term]) -> Q:
        return reduce(lambda a, b: a & b, (term_filter(term) for term in terms))

    if not query:
        return Q(pk__in=[])
    return reduce(lambda a, b: a | b, (all_of(terms) for terms in query))


def match_ranges(text: str, query: Query) -> list[tuple[int, int]]:
    """Where the query's positive terms occur in `text` (case-insensitive), merged, in order."""
    terms = positive_terms(query)
    if not terms:
        return []
    pattern = re.compile("|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True)), re.IGNORECASE)
    ranges: list[tuple[int, int]] = []
    for match in pattern.finditer(text):
        start, end = match.span()
        if ranges and start <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(end, ranges[-1][1]))
        else:
            ranges.append((start, end))
    return ranges
