"""The search syntax as the fallback reads it, and snippets (no database)."""

from search import snippets
from search.websearch import Term, match_ranges, parse


def test_words_phrases_negation_and_or():
    assert parse("release notes") == [[Term("release"), Term("notes")]]
    assert parse('"release  notes" -draft') == [[Term("release notes"), Term("draft", negated=True)]]
    assert parse('a -"b c"') == [[Term("a"), Term("b c", negated=True)]]
    assert parse("x a or b y") == [[Term("x"), Term("a")], [Term("b"), Term("y")]]
    assert parse("a OR b") == [[Term("a")], [Term("b")]]


def test_odd_input():
    assert parse("") == []
    assert parse('"" - !') == []
    assert parse("or a") == [[Term("or"), Term("a")]]  # a leading or trailing `or` is a word
    assert parse("a or") == [[Term("a"), Term("or")]]
    assert parse('"unclosed phrase') == [[Term("unclosed phrase")]]
    assert parse("(deploy), friday!") == [[Term("deploy"), Term("friday")]]
    assert parse("a or or b") == [[Term("a")], [Term("or"), Term("b")]]


def test_match_ranges_are_case_insensitive_and_merged():
    query = parse('Deploy "deploy fri" -staging')
    assert match_ranges("deploy Friday, DEPLOY", query) == [(0, 10), (15, 21)]
    assert match_ranges("nothing here", query) == []
    assert match_ranges("staging", parse("-staging")) == []


def test_snippet_from_ranges_escapes_and_marks():
    text = 'a <b>"x"</b> & y'
    assert snippets.from_ranges(text, match_ranges(text, parse("x"))) == (
        "a &lt;b&gt;&quot;<mark>x</mark>&quot;&lt;/b&gt; &amp; y"
    )
    assert snippets.from_ranges("no match", []) == "no match"


def test_snippet_from_ranges_cuts_around_the_first_match():
    text = " ".join(["filler"] * 100) + " needle " + " ".join(["filler"] * 100)
    out = snippets.from_ranges(text, match_ranges(text, parse("needle")))
    assert out.startswith("… filler") and out.endswith("filler …")
    assert "<mark>needle</mark>" in out and len(out) <= snippets.LENGTH + 40


def test_snippet_from_headline_restores_and_escapes():
    body = "x < y & <b>deploy</b>"
    stand = snippets.STAND_INS
    headline = f"x {stand['<']} y {stand['&']} {stand['<']}b{stand['>']}{snippets.START}deploy{snippets.STOP}"
    headline += f"{stand['<']}/b{stand['>']}"
    assert snippets.from_headline(headline, body) == "x &lt; y &amp; &lt;b&gt;<mark>deploy</mark>&lt;/b&gt;"
    assert snippets.from_headline("middle", "start middle end") == "… middle …"
    assert snippets.clean(f"a{snippets.START}b{snippets.STOP}") == "ab"
