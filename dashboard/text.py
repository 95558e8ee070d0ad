"""How text from outside is shown: as the text itself, never as markup.

Proposal titles and abstracts, organisation and expert names, comments, decline reasons, notes,
rehearsal descriptions, ids and error messages that quote them come from the call folder or from
other users. Streamlit renders Markdown (with HTML-free CommonMark, GFM autolinks, LaTeX,
``:emoji:`` shortcodes, ``:red[...]`` colours and ``:material/...:`` icons) in ``st.markdown``,
``st.caption``, ``st.error`` and the other messages, headings, metrics, tab, expander and status
labels, widget labels and radio options. There such text goes through :func:`md`. Selectbox and
multiselect options, ``st.text``, text inputs and dataframe cells show text as it is; a string
composed for them from outside text goes through :func:`plain`. Multi-line text (an abstract, a
description) is shown with ``st.text``.

Both keep the text as typed, adding only invisible characters:

- every ASCII punctuation character gets CommonMark's backslash escape (so no emphasis, code,
  link, image, HTML, LaTeX, shortcode or colour can start), and a word joiner (U+2060) goes
  after ``http``/``https``, ``www`` and ``@``, because GFM turns bare addresses into links after
  escapes are resolved;
- text with right-to-left letters or bidirectional controls (e.g. U+202E, which reverses what
  follows) is wrapped in a first-strong isolate (U+2068 … U+2069), with as many extra isolates as
  the text has unbalanced closers, so that it cannot reorder the words around it.
"""

from __future__ import annotations

import re
import unicodedata

# Every ASCII punctuation character (CommonMark allows a backslash before each of them).
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# Where GFM's autolink literal starts (protocols, www., the @ of an e-mail address).
_AUTOLINK = re.compile(r"(?i)(https?|www|@)")
WORD_JOINER = "\u2060"
FSI, PDI = "\u2068", "\u2069"
_OPENERS = {"LRE", "RLE", "LRO", "RLO"}
_ISOLATES = {"LRI", "RLI", "FSI"}
_BIDI = {"R", "AL", "PDF", "PDI", *_OPENERS, *_ISOLATES}
INVISIBLE = (WORD_JOINER, FSI, PDI)
# No character before U+0590 (the Hebrew block) has a class of _BIDI (checked by a test).
_FIRST_BIDI = "\u0590"


def isolate(text: str) -> str:
    """``text`` wrapped in bidirectional isolates when it holds right-to-left letters or bidi
    controls, so that it cannot reorder the text around it; otherwise ``text`` itself."""
    if not text or max(text) < _FIRST_BIDI:  # Latin, Greek, Cyrillic…: none to look at
        return text
    classes = [unicodedata.bidirectional(ch) for ch in text]
    if not _BIDI.intersection(classes):
        return text
    depth = stray = 0
    for cls in classes:
        if cls in _ISOLATES:
            depth += 1
        elif cls == "PDI":
            if depth:
                depth -= 1
            else:
                stray += 1  # would close our isolate early: open one more for it
    # A PDI also closes the embeddings and overrides opened inside its isolate.
    return FSI * (1 + stray) + text + PDI * (1 + depth)


def plain(text: object) -> str:
    """``str(text)`` for a place that shows text as it is (selectbox options, ``st.text``):
    isolated, see :func:`isolate`."""
    return isolate(str(text))


def md(text: object) -> str:
    """``str(text)`` for a place that renders Markdown: it shows as typed (see the module
    docstring)."""
    escaped = _PUNCTUATION.sub(r"\\\1", str(text))
    return isolate(_AUTOLINK.sub(lambda m: m.group(1) + WORD_JOINER, escaped))


def shown_as(text: str) -> str:
    """What a reader sees of ``md(x)`` or ``plain(x)`` once rendered, without the invisible
    characters they add (for tests and comparisons)."""
    for ch in INVISIBLE:
        text = text.replace(ch, "")
    return text
