"""Byte-level facts about text files that intake and the record sources both need."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_bom(data: bytes) -> tuple[bytes, str | None]:
    """(the bytes after a byte-order mark, the UTF-16 encoding it declares or None).

    A UTF-8 mark is dropped (UTF-8 is tried first anyway). A UTF-16 mark is what Excel's "Unicode text" export and
    Windows Notepad write: the file is UTF-16 whatever the spec's legacy encodings are, and is converted.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:], None
    if data.startswith(b"\xff\xfe"):
        return data[2:], "utf-16-le"
    if data.startswith(b"\xfe\xff"):
        return data[2:], "utf-16-be"
    return data, None


def has_control_characters(text: str) -> bool:
    """Whether decoded text holds C0 controls other than tab and line ends (binary, or UTF-16 read as UTF-8)."""
    return _CONTROL.search(text) is not None
