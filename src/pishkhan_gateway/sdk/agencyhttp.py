"""HTTP to agencies that ends on time: one deadline per agency call, whatever the network does.

A ``requests`` timeout bounds each *socket operation*, not the exchange: an agency (or a broken
middlebox) that trickles its reply a byte at a time keeps every read under the timeout and the
worker busy for minutes, and a retry started late in the budget gets a whole timeout of its own.
So the dispatcher opens ``within(seconds)`` around a call (retries included) and the sessions
made here enforce it:

- every connect and read is given at most the time left (``remaining``);
- a watchdog thread shuts the socket down when the deadline passes, which ends a read that is
  still receiving bytes, in the status line, the headers or the body alike;
- replies are read in chunks and refused past ``MAX_REPLY_BYTES`` (``read_capped``).

Written here because no library does it: neither requests/urllib3 nor httpx has a total deadline
for a response being received (urllib3's ``Timeout(total=...)`` only spans connect + first read).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

MAX_REPLY_BYTES = 10 * 1024 * 1024

_local = threading.local()


class ReplyTooLarge(Exception):
    """The agency's reply was cut off at the size limit."""


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Everything sent to agencies from this thread inside the block ends by ``seconds`` from
    now (an enclosing, earlier deadline still wins)."""
    outer = getattr(_local, "deadline", None)
    deadline = time.monotonic() + seconds
    _local.deadline = deadline if outer is None else min(outer, deadline)
    try:
        yield
    finally:
        _local.deadline = outer
        if outer is None:
            for token in getattr(_local, "watched", ()):
                _WATCHDOG.cancel(token)
            _local.watched = []


def remaining(default: float) -> float:
    """The timeout for the next socket operation: ``default``, or less if the deadline is near
    (never zero, which would mean non-blocking)."""
    deadline = getattr(_local, "deadline", None)
    if deadline is None:
        return default
    return max(0.001, min(default, deadline - time.monotonic()))


def expired() -> bool:
    """Has this thread's deadline passed? (An error after it is a timeout, whatever it looks
    like: the watchdog's shutdown surfaces as a broken connection.)"""
    deadline = getattr(_local, "deadline", None)
    return deadline is not None and time.monotonic() >= deadline


def _watch(sock: socket.socket | None) -> None:
    deadline = getattr(_local, "deadline", None)
    if sock is None or deadline is None:
        return
    if not hasattr(_local, "watched"):
        _local.watched = []
    _local.watched.append(_WATCHDOG.watch(sock, deadline))


class _Watchdog:
    """One daemon thread that shuts sockets down at their deadlines (a heap, one wake-up per
    deadline). Cancelled entries are dropped lazily."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, socket.socket]] = []
        self._cancelled: set[int] = set()
        self._ids = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, sock: socket.socket, deadline: float) -> int:
        token = next(self._ids)
        with self._wake:
            heapq.heappush(self._heap, (deadline, token, sock))
            if self._thread is None or not self._thread.is_alive():  # also after a fork
                self._thread = threading.Thread(
                    target=self._run, daemon=True, name="pishkhan-deadlines"
                )
                self._thread.start()
            self._wake.notify()
        return token

    def cancel(self, token: int) -> None:
        with self._wake:
            self._cancelled.add(token)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][1] in self._cancelled:
                    self._cancelled.discard(heapq.heappop(self._heap)[1])
                if not self._heap:
                    self._wake.wait()
                    continue
                deadline, _, sock = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


_WATCHDOG = _Watchdog()


class _Watched:
    """Mixed into urllib3's connections: a socket in use for an agency call is watched."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _watch(self.sock)  # type: ignore[attr-defined]

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:  # type: ignore[attr-defined]  # a kept-alive connection
            _watch(self.sock)  # type: ignore[attr-defined]
        super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def send(self, request: Any, **kwargs: Any) -> Any:
        timeout = kwargs.get("timeout")
        if isinstance(timeout, int | float):
            kwargs["timeout"] = remaining(float(timeout))
        return super().send(request, **kwargs)


def session() -> requests.Session:
    """A requests session whose calls keep the deadline of ``within``."""
    s = requests.Session()
    adapter = _Adapter()
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def read_capped(response: requests.Response) -> bytes:
    """The body of a streamed response, refused past ``MAX_REPLY_BYTES`` while reading it.

    Past the deadline the reply is a timeout even if it looks whole: the watchdog's shutdown can
    end a reply mid-headers, which http.client takes for a short but valid response."""
    body = bytearray()
    for chunk in response.iter_content(65536):
        body += chunk
        if len(body) > MAX_REPLY_BYTES:
            response.close()
            raise ReplyTooLarge(f"the agency's reply exceeds {MAX_REPLY_BYTES} bytes")
    if expired():
        raise requests.exceptions.ReadTimeout("the agency did not answer within the deadline")
    return bytes(body)
