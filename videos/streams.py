"""A download's bytes, handled on helper threads while the next ones arrive.

Receiving (``recv``), writing and hashing each release the GIL, so a download that does
them one after the other runs at the pace of their sum; on threads of their own it runs at
the pace of the slowest (``bench/bench_download.py``). Each keeps only a few chunks
waiting, so a worker's memory stays flat whatever the file's size.
"""
from __future__ import annotations

import hashlib
import queue
import threading
from typing import Any


class Hasher:
    """SHA-256 on a helper thread, fed batches of about ``batch`` bytes.

    hashlib releases the GIL while it hashes, so the digest is computed while the next
    bytes arrive and are written instead of after them (measured by bench/bench_download.py:
    inline hashing cost a third of the throughput). At most a few batches wait: memory
    stays flat.
    """

    def __init__(self, batch: int) -> None:
        self.digest = hashlib.sha256()
        self._batch, self._pending, self._size = batch, [], 0
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._thread = threading.Thread(target=self._run, name="sora-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunks := self._queue.get()) is not None:
            for chunk in chunks:
                self.digest.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._pending.append(chunk)
        self._size += len(chunk)
        if self._size >= self._batch:
            self._queue.put(self._pending)
            self._pending, self._size = [], 0

    def close(self) -> str:
        """Wait for the thread to hash what it was given; the hex digest."""
        if self._thread.is_alive():
            self._queue.put(self._pending)
            self._queue.put(None)
            self._thread.join()
        return self.digest.hexdigest()


class Writer:
    """Writes a big download's chunks to its file on a thread of its own, so writing one chunk
    overlaps receiving the next (both release the GIL): the transfer then runs at the pace of
    the slower of the two, not of their sum (``bench/bench_download.py``). A few chunks wait
    at most, so memory stays flat."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh
        self._queue: queue.Queue = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sora-write", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self.error is None:
                try:
                    self._fh.write(chunk)
                except BaseException as exc:  # raised in the downloading thread at its next write
                    self.error = exc

    def write(self, chunk: bytes) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put(chunk)

    def close(self) -> None:
        """Wait until every chunk is written; raise what writing raised."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self.error is not None:
            raise self.error
