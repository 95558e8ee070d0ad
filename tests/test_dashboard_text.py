"""Text from outside shows as typed: `dashboard.text.md` for Markdown places, `plain` for the
others. An independent CommonMark renderer (markdown-it, with GFM tables, strikethrough and
autolink literals) checks that no markup survives; the browser test of a hostile call
(`tests/test_browser_hostile.py`) checks Streamlit's own renderer."""

from __future__ import annotations

import html
import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.text import FSI, PDI, WORD_JOINER, isolate, md, plain, shown_as

HOSTILE = [
    "![x](http://evil.example.com/pixel.png)",
    "[click](http://evil.example.com/) and <http://evil.example.com/a>",
    "http://evil.example.com/bare www.evil.example.com someone@evil.example.com",
    "<img src=http://evil.example.com/p.png> <script>alert(1)</script> <b>bold</b>",
    "$x^2$ and $$\\int_0^1$$",
    ":red[alarm] :smile: :material/home: :blue-background[x]",
    "**strong** _em_ `code` ~~gone~~ &amp; &#x41;",
    "# heading\n- item\n1. one\n> quote\n| a | b |\n|---|---|\n---",
    "back\\slash \\*not emphasis\\*",
]


def rendered(markdown: str) -> tuple[str, str]:
    """The HTML a CommonMark renderer (with GFM tables, strikethrough and bare-address links)
    makes of ``markdown``, and the text it shows."""
    from markdown_it import MarkdownIt

    out = MarkdownIt("commonmark", {"linkify": True}).enable(
        ["strikethrough", "table", "linkify"]).render(markdown)
    return out, html.unescape(re.sub(r"<[^>]*>", "", out))


def test_linkify_is_checked_for_real() -> None:
    pytest.importorskip("linkify_it")
    out, _ = rendered("see www.evil.example.com")
    assert "<a " in out  # without md() a bare address becomes a link


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_shows_as_typed(text: str) -> None:
    out, shown = rendered(f"A {md(text)} B")
    tags = set(re.findall(r"<(\w+)", out))
    assert tags <= {"p", "br"}, out
    assert " ".join(shown_as(shown).split()) == " ".join(f"A {text} B".split())


@given(st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters="\x7f"),
               min_size=1, max_size=40).filter(lambda s: s == s.strip()))
def test_md_renders_as_the_text_itself(text: str) -> None:
    out, shown = rendered(f"Your sign-in ({md(text)}) is not linked.")
    assert set(re.findall(r"<(\w+)", out)) <= {"p"}
    assert shown_as(shown).strip() == f"Your sign-in ({text}) is not linked."
    # Streamlit's own markup ($ for LaTeX, :name: for emoji, icons and colours) is escaped too.
    assert not re.search(r"(?<!\\)[$:]", md(text))


def test_bare_addresses_are_broken_by_an_invisible_joiner_only() -> None:
    assert md("www.x.org") == f"www{WORD_JOINER}\\.x\\.org"
    assert md("a@b.org") == f"a\\@{WORD_JOINER}b\\.org"
    assert shown_as(md("https://x")) == "https\\:\\/\\/x"


def test_plain_leaves_left_to_right_text_alone() -> None:
    for text in ("Green skills for SMEs", "**x** :smile: <b>", "x" * 5000):
        assert plain(text) == text


def resolved_levels(text: str) -> list[int]:
    """The explicit embedding depth after each character of ``text`` (UAX #9, rules X1–X8,
    simplified to depths): what an isolate must bring back to zero at its end."""
    stack: list[str] = []
    depths = []
    for ch in text:
        cls = unicodedata.bidirectional(ch)
        if cls in ("LRE", "RLE", "LRO", "RLO", "LRI", "RLI", "FSI"):
            stack.append(cls)
        elif cls == "PDF" and stack and stack[-1] not in ("LRI", "RLI", "FSI"):
            stack.pop()
        elif cls == "PDI" and any(s in ("LRI", "RLI", "FSI") for s in stack):
            while stack.pop() not in ("LRI", "RLI", "FSI"):
                pass
        depths.append(len(stack))
    return depths


@pytest.mark.parametrize(
    "text",
    ["\u202eevil", "abc\u2069\u2069 then \u202e", "\u2067x", "\u202b\u202ey\u202c",
     "שלום", "مرحبا \u202d", "\u2069"],
)
def test_bidi_text_is_isolated_and_balanced(text: str) -> None:
    wrapped = isolate(text)
    assert wrapped.startswith(FSI) and wrapped.endswith(PDI)
    assert shown_as(wrapped) == shown_as(text)
    depths = resolved_levels(wrapped)
    assert depths[-1] == 0  # nothing stays open after the text: what follows is unaffected
    assert all(d > 0 for d in depths[:-1])  # and nothing in it closes the isolate early
    assert md(text).startswith(FSI) and plain(text) == wrapped


def test_no_character_before_the_first_bidi_one_needs_isolating() -> None:
    """`isolate` skips text whose characters all come before U+0590: none of them is a
    right-to-left letter or a bidi control."""
    from dashboard.text import _BIDI, _FIRST_BIDI

    assert not [c for c in range(ord(_FIRST_BIDI))
                if unicodedata.bidirectional(chr(c)) in _BIDI]
    assert isolate("Université de Liège – Ελληνικά") == "Université de Liège – Ελληνικά"
    assert isolate("Łódź \u05d0") == FSI + "Łódź \u05d0" + PDI
