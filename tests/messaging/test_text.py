"""messaging.text: the Markdown subset, its sanitising, and where mentions are found (no database)."""

import re

import pytest

from messaging import text

REL = 'rel="noopener noreferrer nofollow"'


def tags_of(fragment: str) -> set[str]:
    return set(re.findall(r"<\s*([a-zA-Z0-9]+)", fragment))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("**strong** and _em_", "<p><strong>strong</strong> and <em>em</em></p>"),
        ("~~gone~~", "<p><s>gone</s></p>"),
        ("`a <b> c`", "<p><code>a &lt;b&gt; c</code></p>"),
        ("```js\nlet x = '<i>';\n```", "<pre><code>let x = '&lt;i&gt;';\n</code></pre>"),
        ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("3. three\n4. four", '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>'),
        ("line one\nline two", "<p>line one<br>\nline two</p>"),
        ("# not a heading", "<p># not a heading</p>"),
        ("---", "<p>---</p>"),
    ],
)
def test_the_markdown_subset(source, expected):
    assert text.render(source) == expected


def test_links_and_bare_urls_get_rel_and_open_in_a_new_tab():
    html = text.render("[docs](https://example.com/a?b=1&c=2) and https://example.org/x. and www.example.net")
    assert html.count(REL) == 3 and html.count('target="_blank"') == 3
    assert 'href="https://example.com/a?b=1&amp;c=2"' in html
    assert 'href="https://example.org/x"' in html and "</a>." in html  # the full stop is not part of the URL
    assert 'href="http://www.example.net"' in html


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](  javascript:alert(1))",
        "[click](vbscript:msgbox(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<javascript:alert(1)>",
        '<div style="x" onclick="alert(1)">hi</div>',
        "<iframe src=https://evil.example></iframe>",
        "<svg onload=alert(1)>",
        "<style>body{display:none}</style>",
        '[x](https://ok.example "title" onmouseover=alert(1))',
        "<!-- comment --> text",
        "![pic](https://example.com/p.png)",
        "![pic](javascript:alert(1))",
    ],
)
def test_attacks_render_as_text_or_not_at_all(attack):
    html = text.render(attack)
    assert tags_of(html) <= {"p", "a", "br"}, html
    assert not re.search(r"<a [^>]*href=\"(?!https?:|mailto:)", html), html
    assert not re.search(r"<[^>]+\son\w+=", html), html  # no event handler attribute on any tag
    assert "<img" not in html and "<script" not in html and "<iframe" not in html and "<svg" not in html


def test_images_are_never_rendered_even_as_markdown():
    html = text.render("![pic](https://example.com/p.png)")
    assert "<img" not in html and "src=" not in html


def test_the_sanitiser_strips_what_the_renderer_never_makes():
    dirty = (
        '<p onclick="x()" class="evil">a</p><img src=x><a href="javascript:alert(1)">j</a>'
        '<span class="mention other" data-user="3" style="color:red">@bob</span><script>bad()</script>'
    )
    clean = text.sanitise(dirty)
    assert clean == '<p>a</p><a target="_blank" rel="noopener noreferrer nofollow">j</a>' + (
        '<span class="mention" data-user="3">@bob</span>'
    )


def test_empty_and_blank_bodies_render_empty():
    assert text.render("") == "" and text.render("  \n ") == ""


def test_mentions_are_found_outside_code_and_links_only():
    parsed = text.parse("@Bob and (@carol.) `@dave` [@erin](https://x.example) x@frank /@gina @here\n```\n@hal\n```")
    assert parsed.usernames == {"bob", "carol"} and parsed.mentions_here
    assert not text.parse("no one here").names


def test_resolved_mentions_become_spans_the_rest_stays_text():
    parsed = text.parse("hi @Bob, @carol and @here <b>")
    html = parsed.html({"bob": 7}, here=True)
    assert html == (
        '<p>hi <span class="mention" data-user="7">@Bob</span>, @carol and '
        '<span class="mention mention-here">@here</span> &lt;b&gt;</p>'
    )
    assert "mention" not in parsed.html()  # nothing resolved: plain text


def test_a_mention_name_is_escaped():
    parsed = text.parse("@a_b.c-d+e")
    assert parsed.usernames == {"a_b.c-d+e"}
    assert parsed.html({"a_b.c-d+e": 1}) == '<p><span class="mention" data-user="1">@a_b.c-d+e</span></p>'
