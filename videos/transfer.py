"""Moving a response body into a file: the two copy loops and the hash thread beside them.

A body carried by our ``DirectTransport`` is read into one reused buffer and written to the
file's descriptor (:func:`copy_into`): a read and a write per chunk, no allocation, nothing
in Python's buffered layer (which copies a large write once more). Any other body, or one
hashed while it arrives, is copied chunk by chunk (:func:`copy_chunks`), each chunk kept
for the hash thread until it is hashed. ``bench/bench_download.py`` measures both.
"""
from __future__ import annotations

import hashlib
import os
import queue
import threading
import time
from typing import IO, Callable, Iterable

#: A body announced at no more than this many bytes is hashed as it arrives: a thread costs
#: more to start than hashing a preview or a short clip (about a millisecond per file).
INLINE_BELOW = 4 * 1024 * 1024


class Hasher:
    """SHA-256 on a helper thread, fed batches of about ``batch`` bytes.

    hashlib releases the GIL while it hashes, so the digest is computed while the next
    bytes arrive and are written instead of after them (measured by bench/bench_download.py:
    inline hashing cost a third of the throughput). At most a few batches wait: memory
    stays flat. A small body whose size is announced (``expected``) is hashed in the
    caller's thread, with no thread started.
    """

    def __init__(self, batch: int, *, expected: int | None = None) -> None:
        self.digest = hashlib.sha256()
        self._batch, self._pending, self._size = batch, [], 0
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._inline = expected is not None and expected <= INLINE_BELOW
        self._thread: threading.Thread | None = None
        if not self._inline:
            self._thread = threading.Thread(target=self._run, name="sora-hash", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while (chunks := self._queue.get()) is not None:
            for chunk in chunks:
                self.digest.update(chunk)

    def update(self, chunk: bytes) -> None:
        if self._inline:
            self.digest.update(chunk)
            return
        self._pending.append(chunk)
        self._size += len(chunk)
        if self._size >= self._batch:
            self._queue.put(self._pending)
            self._pending, self._size = [], 0

    def close(self) -> str:
        """Wait for the thread to hash what it was given; the hex digest."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(self._pending)
            self._queue.put(None)
            self._thread.join()
        return self.digest.hexdigest()


class Every:
    """Calls ``action`` at most once per ``seconds`` (a long transfer's heartbeat)."""

    def __init__(self, seconds: float, action: Callable[[], None]) -> None:
        self.seconds, self.action, self.last = seconds, action, time.monotonic()

    def __call__(self) -> None:
        if time.monotonic() - self.last > self.seconds:
            self.action()
            self.last = time.monotonic()


def copy_into(readinto: Callable[[memoryview], int], out: IO[bytes], *, chunk_size: int,
              tick: Callable[[], None]) -> int:
    """Read the body into one buffer of ``chunk_size`` and write it to ``out``'s descriptor; bytes copied."""
    out.flush()
    fd, buffer = out.fileno(), memoryview(bytearray(chunk_size))
    received = 0
    while count := readinto(buffer):
        written = 0
        while written < count:
            written += os.write(fd, buffer[written:count])
        received += count
        tick()
    return received


def copy_chunks(chunks: Iterable[bytes], out: IO[bytes], *, hasher: Hasher | None, tick: Callable[[], None]) -> int:
    """Write ``chunks`` to ``out`` as they arrive (feeding ``hasher``); bytes copied.

    The streaming transport reads up to its chunk size at once; asking ``iter_bytes`` for a
    size would copy every byte again.
    """
    received = 0
    for chunk in chunks:
        out.write(chunk)
        if hasher is not None:
            hasher.update(chunk)
        received += len(chunk)
        tick()
    return received
