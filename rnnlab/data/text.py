"""Reading a UTF-8 text in blocks of code points, so memory does not grow with the file.

A text is read ``BLOCK_BYTES`` at a time, each block cut at a character
boundary and turned into its code points (uint8 for an ASCII block, else
uint32). Problems raise DataError with one line naming the fix: a path that is
missing or not a regular file (a directory, FIFO, device or socket: a FIFO
would block forever), an empty, UTF-16 or binary file, or bytes that are not
UTF-8 (offsets count bytes from the start of the file).
"""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from rnnlab.data.base import DataError

#: bytes read at a time; a block's code points take at most 4x as much
BLOCK_BYTES = 1 << 20
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_FILE_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def refuse_special_file(file: Path) -> None:
    """DataError if ``file`` exists but is not a regular file (reading a FIFO would wait
    forever for a writer); a missing or unreadable file is reported when it is opened."""
    try:
        mode = file.stat().st_mode
    except OSError:
        return
    if stat.S_ISDIR(mode):
        raise DataError(f"'{file}' is a directory; point data.path at a text file")
    kind = next((name for test, name in _FILE_KINDS if test(mode)), None)
    if kind is not None:
        raise DataError(
            f"'{file}' is {kind}, not a regular file; point data.path at a text file "
            f"(save a stream to a file first)"
        )


def text_file(path: str | os.PathLike) -> Path:
    """``path`` with ``~`` expanded; DataError if it is empty or not a regular file."""
    if str(path) == "":
        raise DataError(
            "data.path is empty; give a UTF-8 text file, or leave it unset "
            "for the built-in tinyshakespeare corpus"
        )
    file = Path(path).expanduser()
    refuse_special_file(file)
    return file


def opener(file: Path) -> Callable[[], BinaryIO]:
    """A function that opens ``file`` for reading; DataError if it is missing or unreadable."""

    def open_file() -> BinaryIO:
        try:
            return open(file, "rb")
        except FileNotFoundError:
            raise DataError(
                f"text file '{file}' does not exist; check data.path, or leave it "
                f"unset for the built-in tinyshakespeare corpus"
            ) from None
        except OSError as exc:
            raise DataError(
                f"cannot read '{file}' ({exc.strerror}); check data.path and the file's permissions"
            ) from None

    return open_file


def _decode(piece: bytes, offset: int, source: str) -> np.ndarray:
    """The code points of ``piece`` (which starts ``offset`` bytes into ``source``)."""
    nul = piece.find(b"\0")
    if nul >= 0:
        raise DataError(
            f"{source} looks binary (NUL byte at offset {offset + nul}); give a UTF-8 text file"
        )
    if piece.isascii():
        return np.frombuffer(piece, dtype=np.uint8)
    try:
        text = piece.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{source} is not UTF-8 (byte 0x{piece[exc.start]:02x} at offset "
            f"{offset + exc.start}); convert it, e.g. iconv -f LATIN1 -t UTF-8 in.txt > out.txt"
        ) from None
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


def _last_char_start(buf: bytes) -> int:
    """Where the last (maybe incomplete) UTF-8 character of ``buf`` starts."""
    i = len(buf) - 1
    while i > 0 and len(buf) - i < 4 and buf[i] & 0xC0 == 0x80:  # a continuation byte
        i -= 1
    return i


def code_point_blocks(open_stream: Callable[[], BinaryIO], source: str) -> Iterator[np.ndarray]:
    """The code points of the UTF-8 text ``open_stream()`` reads, block by block.

    A leading byte-order mark is dropped. ``source`` names the text in errors.
    """
    with open_stream() as stream:
        buf = stream.read(BLOCK_BYTES)
        if buf.startswith(_UTF16_BOMS):
            raise DataError(
                f"{source} is UTF-16 text; convert it to UTF-8, "
                f"e.g. iconv -f UTF-16 -t UTF-8 in.txt > out.txt"
            )
        offset = len(codecs.BOM_UTF8) if buf.startswith(codecs.BOM_UTF8) else 0
        buf = buf[offset:]
        if not buf:
            raise DataError(f"{source} is empty; give a text file with some content")
        while buf:
            more = stream.read(BLOCK_BYTES)
            cut = _last_char_start(buf) if more else len(buf)
            yield _decode(buf[:cut], offset, source)
            offset += cut
            buf = buf[cut:] + more
