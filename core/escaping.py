"""Text from the data or from people, made to show exactly as written wherever the app shows it.

Streamlit reads most strings as Markdown: ``st.markdown``, captions, headings, alerts, toasts, widget
labels, radio options, expander labels and image captions. There a category or product name could
link or embed an outside URL (``[x](url)``, ``![x](url)``, a bare ``http://...``), show an icon
(``:material/home:``), colour text (``:red[...]``), typeset LaTeX (``$x$``) or simply turn bold.
Every such text goes through ``plain_markdown`` (a message the product wrote, which may quote data,
through ``message_markdown``); text inside ``st.html`` through ``html_text``, and text in Plotly
charts (which read a few HTML tags) through ``chart_text``.
"""
from __future__ import annotations

import html
import re

# CommonMark lets every ASCII punctuation character be backslash-escaped, and then shows it as itself.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# Invisible, but it splits what Streamlit finds in the text rather than in the Markdown syntax, which
# escaping cannot stop: bare URLs and e-mail addresses (autolinks), www. links, :shortcodes: and icons.
WORD_JOINER = "\u2060"
_FOUND_IN_TEXT = re.compile(r"\\[:@]|www(?=\\\.)", re.IGNORECASE)
_CODE_SPAN = re.compile(r"(`[^`\n]+`)")


def plain_markdown(text: object) -> str:
    """``text`` (any object, as ``str`` gives it) as Markdown that Streamlit shows literally, line
    breaks included."""
    return _line_breaks(_escaped(str(text)))


def message_markdown(message: object) -> str:
    """A message the product wrote (an exception's, say), which may quote data, as Markdown: its
    `code spans` stay code (Markdown shows their content as written), the rest as ``plain_markdown``."""
    parts = _CODE_SPAN.split(str(message))
    return _line_breaks("".join(part if i % 2 else _escaped(part) for i, part in enumerate(parts)))


def html_text(text: object) -> str:
    """``text`` as HTML text or attribute value: its tags, quotes and entities shown, never read."""
    return html.escape(str(text), quote=True)


def chart_text(text: object) -> str:
    """``text`` for a Plotly label or hover text: its tags shown, not read (Plotly turns ``&lt;``,
    ``&gt;`` and ``&amp;`` back into the characters)."""
    return html.escape(str(text), quote=False)


def _escaped(text: str) -> str:
    escaped = _PUNCTUATION.sub(r"\\\1", text)
    return _FOUND_IN_TEXT.sub(lambda found: found.group(0) + WORD_JOINER, escaped)


def _line_breaks(markdown: str) -> str:
    """Each line break kept: a backslash ending a line is a line break in Markdown (except at the end)."""
    return "\\\n".join(markdown.rstrip("\r\n").splitlines())
