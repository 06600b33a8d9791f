"""The guarded input holds a stream's readinto to the buffer it was given.

Python 3.11's ``io.RawIOBase.read`` copies as many bytes as the stream's
``readinto`` says it read, even past the end of its buffer
(python/cpython#140607). Werkzeug's development server reads chunked bodies
through ``DechunkedInput``, whose ``readinto`` shrinks a ``bytearray`` on a
short read and still counts the bytes it asked for: a client sending a chunk
in pieces could make the server copy heap memory into the body, or crash
(seen as a segmentation fault in the raw-socket fuzz test). The attack, then
the defence.
"""

from __future__ import annotations

import io

import pytest
from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import DechunkedInput
from werkzeug.wsgi import LimitedStream

from hermetic._guarded_input import BodyReadError, _GuardedInput


class _Trickling(io.BytesIO):
    """A socket-like file: each read gives at most ``step`` bytes, not at its end."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__(data)
        self.step = step

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return super().read()
        return super().read(min(size, self.step))


# A 16-byte chunk whose first read gives 4 bytes, followed by what looks like
# the chunk's terminator: DechunkedInput counts 16.
TRICKLED = b"10\r\n" + b"abcd" + b"\r\n" + b"0\r\n\r\n"


def test_the_attack_dechunked_input_counts_more_than_the_buffer_holds():
    buffer = bytearray(16)
    got = DechunkedInput(_Trickling(TRICKLED, 4)).readinto(buffer)
    assert (got, len(buffer)) == (16, 4)  # RawIOBase.read would copy 16 bytes from 4


def test_the_guard_refuses_the_short_chunk_instead_of_reading_past_the_buffer():
    guarded = _GuardedInput(DechunkedInput(_Trickling(TRICKLED, 4)))
    with pytest.raises(BodyReadError):
        guarded.read()
    guarded = _GuardedInput(DechunkedInput(_Trickling(TRICKLED, 4)))
    with pytest.raises(BodyReadError):
        guarded.readinto(bytearray(16))


def test_through_werkzeugs_bounded_stream_it_is_a_client_disconnect():
    guarded = _GuardedInput(DechunkedInput(_Trickling(TRICKLED, 4)))
    with pytest.raises(ClientDisconnected):
        LimitedStream(guarded, 1000, is_max=True).read()


class _Overcounting(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:1] = b"x"
        return len(buffer) + 10


class _Overreading:
    def read(self, size: int = -1) -> bytes:
        return b"y" * (size + 5)


@pytest.mark.parametrize("stream", [_Overcounting(), _Overreading()], ids=["count", "read"])
def test_a_stream_answering_more_than_asked_is_a_failed_read(stream):
    with pytest.raises(BodyReadError):
        _GuardedInput(stream).readinto(bytearray(8))


@pytest.mark.parametrize("size", [None, -1, 3, 100])
def test_a_well_formed_chunked_body_reads_as_werkzeug_reads_it(size):
    body = b"5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
    expected = DechunkedInput(io.BytesIO(body)).read(-1 if size is None else size)
    assert _GuardedInput(DechunkedInput(io.BytesIO(body))).read(size) == expected
    whole = _GuardedInput(DechunkedInput(io.BytesIO(body)))
    assert whole.readall() == b"hello, world"


def test_readline_of_a_chunked_body():
    body = b"6\r\nab\ncd\n\r\n2\r\nef\r\n0\r\n\r\n"
    guarded = _GuardedInput(DechunkedInput(io.BytesIO(body)))
    assert guarded.readline() == b"ab\n"
    assert guarded.readline(1) == b"c"
    assert list(guarded) == [b"d\n", b"ef"]
