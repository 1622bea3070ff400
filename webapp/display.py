"""What every rendered value goes through before it is escaped (the Jinja ``finalize`` hook), and before it is
written into a spreadsheet (``csv_cell``).

CRM text is untrusted. Escaping stops markup, but not Unicode's bidirectional controls: a right-to-left override
(U+202E) inside a rep's note reorders the characters that follow it on the reader's screen ("invoice" can be made
to read as something else, a file name's extension reversed). They are dropped from what is displayed; the stored
text keeps them, as Salesforce has them.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

# Embeddings, overrides and isolates: LRE RLE PDF LRO RLO (U+202A-U+202E), LRI RLI FSI PDI (U+2066-U+2069).
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def finalize(value: Any) -> Any:
    """A plain string loses its bidi controls; markup built by a template (already finalized inside) is kept."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return BIDI_CONTROLS.sub("", value)
    return value


# A cell a spreadsheet reads as a formula: "=HYPERLINK(...)" in an account name would run when the file is opened.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell: text loses its bidi controls, and text a spreadsheet would read as a formula starts
    with an apostrophe (OWASP's advice for CSV injection); numbers stay numbers."""
    if not isinstance(value, str):
        return value
    value = BIDI_CONTROLS.sub("", value)
    return "'" + value if value.startswith(FORMULA_START) else value
