"""Message text: the safe Markdown subset a message's `body` is written in, rendered to `body_html`,
and the `@username` / `@here` mentions found in it.

`body` stays the source. `body_html` is rendered here on the server (markdown-it-py: CommonMark with
strikethrough and auto-linked URLs; no raw HTML, no images, no headings or rules, a line break is a
`<br>` as in every chat) and then sanitised with an allow-list (nh3), so a page may insert it as
HTML. Mentions are found in the parsed text, never inside code or a link's text, and are rendered as
`<span class="mention" data-user="ID">@name</span>` only for the people the caller resolved (who
may read the conversation: that is the service's rule, not this module's).

Pure functions: no database, no Django models.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

HERE = "here"

# `@name` not glued to a word, an address or a path before it; a name ends on a letter or digit
# ("@bob." and "(@bob)" mention bob). Django usernames may also hold "@", which mentions cannot.
MENTION = re.compile(r"(?<![\w@.+\-/])@(\w(?:[\w.+\-]*\w)?)")

ALLOWED_TAGS = {"p", "br", "em", "strong", "s", "del", "code", "pre", "a", "ul", "ol", "li", "blockquote", "span"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "span": {"data-user"}}
ALLOWED_CLASSES = {"span": {"mention", "mention-here"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"

_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags={"script", "style"},
    attributes=ALLOWED_ATTRIBUTES,
    allowed_classes=ALLOWED_CLASSES,
    url_schemes=URL_SCHEMES,
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": "_blank"}},
    strip_comments=True,
)


def _split_mentions(state: StateCore) -> None:
    """Core rule: cut each text run outside links into text and `mention` tokens, and note the names
    (lower-cased) in `env["mention_names"]`."""
    names: set[str] = state.env.setdefault("mention_names", set())
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        in_link = 0
        for token in block.children:
            if token.type == "link_open":
                in_link += 1
            elif token.type == "link_close":
                in_link -= 1
            if token.type != "text" or in_link or "@" not in token.content:
                children.append(token)
                continue
            last = 0
            for match in MENTION.finditer(token.content):
                if match.start() > last:
                    children.append(_text(token, token.content[last : match.start()]))
                mention = Token("mention", "", 0, meta={"name": match.group(1)})
                children.append(mention)
                names.add(match.group(1).lower())
                last = match.end()
            if last == 0:
                children.append(token)
            elif last < len(token.content):
                children.append(_text(token, token.content[last:]))
        block.children = children


def _text(like: Token, content: str) -> Token:
    return Token("text", "", 0, content=content, level=like.level)


def _render_mention(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    name = str(tokens[idx].meta["name"])
    key = name.lower()
    if key == HERE and env.get("here"):
        return '<span class="mention mention-here">@here</span>'
    user_id = env.get("mention_ids", {}).get(key)
    if user_id is None:
        return html.escape(f"@{name}")
    return f'<span class="mention" data-user="{int(user_id)}">@{html.escape(name)}</span>'


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True, "typographer": False})
    md.enable(["strikethrough", "linkify"])
    # Chat text: no images (a message may not make every reader fetch a URL), no headings or rules.
    md.disable(["image", "heading", "lheading", "hr"])
    md.core.ruler.push("mention", _split_mentions)
    md.add_render_rule("mention", _render_mention)
    return md


_md = _markdown()


@dataclass(frozen=True)
class ParsedText:
    """A body parsed once: the names it mentions, then rendered with the ones the caller resolved."""

    tokens: list[Token]
    names: frozenset[str]  # every `@name` outside code and links, lower-cased ("here" included)

    @property
    def mentions_here(self) -> bool:
        return HERE in self.names

    @property
    def usernames(self) -> frozenset[str]:
        return self.names - {HERE}

    def html(self, mention_ids: Mapping[str, int] | None = None, *, here: bool = False) -> str:
        """`body_html`: mentions of `mention_ids` (lower-cased username -> user id) and, with `here`,
        `@here` highlighted; every other `@name` stays plain text."""
        if not self.tokens:
            return ""
        env: dict[str, Any] = {"mention_ids": dict(mention_ids or {}), "here": here}
        rendered = _md.renderer.render(self.tokens, _md.options, env)
        return sanitise(rendered).strip()


def parse(body: str) -> ParsedText:
    env: dict[str, Any] = {}
    tokens = _md.parse(body, env) if body.strip() else []
    return ParsedText(tokens=tokens, names=frozenset(env.get("mention_names", ())))


def render(body: str) -> str:
    """`body_html` without mentions (system messages, and messages written before mentions)."""
    return parse(body).html()


def sanitise(fragment: str) -> str:
    """Keep only the allow-listed tags, attributes, classes and URL schemes."""
    return _cleaner.clean(fragment)
