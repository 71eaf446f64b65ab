"""Text from the data or from people, made to show exactly as written wherever the app shows it.

Streamlit reads most strings as Markdown: ``st.markdown``, captions, headings, alerts, toasts, widget
labels, radio options, expander labels and image captions. There a category or product name could
link or embed an outside URL (``[x](url)``, ``![x](url)``, a bare ``http://...``), show an icon
(``:material/home:``), colour text (``:red[...]``), typeset LaTeX (``$x$``) or simply turn bold.
Every such text goes through ``plain_markdown``; text inside ``st.html`` through ``html_text``, and
text in Plotly charts (which read a few HTML tags) through ``chart_text``.
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


def plain_markdown(text: object) -> str:
    """``text`` (any object, as ``str`` gives it) as Markdown that Streamlit shows literally, line
    breaks included."""
    escaped = _PUNCTUATION.sub(r"\\\1", str(text))
    escaped = _FOUND_IN_TEXT.sub(lambda found: found.group(0) + WORD_JOINER, escaped)
    return "\\\n".join(escaped.splitlines())  # a backslash ending a line is a line break in Markdown


def html_text(text: object) -> str:
    """``text`` as HTML text or attribute value: its tags, quotes and entities shown, never read."""
    return html.escape(str(text), quote=True)


def chart_text(text: object) -> str:
    """``text`` for a Plotly label or hover text: its tags shown, not read (Plotly turns ``&lt;``,
    ``&gt;`` and ``&amp;`` back into the characters)."""
    return html.escape(str(text), quote=False)
