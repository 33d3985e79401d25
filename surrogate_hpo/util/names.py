"""Names that become folders: a study name must stay inside its output folder."""

from __future__ import annotations

import re

__all__ = ["STUDY_NAME"]

#: a plain folder name: letters, digits, '_', '-', '.', '+'; no '/' and no leading '.'
STUDY_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}\Z")  # \Z: "$" would let a final newline in
