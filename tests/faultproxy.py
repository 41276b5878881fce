"""A small TCP fault proxy for the tests: sits between the gateway and a sandbox agency and
misbehaves the way networks do.

Modes (``proxy.mode = ...``, takes effect for new connections):

- ``pass``: forward both ways;
- ``reset``: read the first bytes of the request, then reset the connection (RST);
- ``blackhole``: accept and swallow everything, forward nothing, never answer;
- ``stall``: forward the request to the agency (which acts on it) but never return its reply;
- ``trickle``: forward the request, return the reply one byte every ``trickle_seconds``.

``connections`` counts accepted connections (how many times the gateway tried).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading


class FaultProxy:
    def __init__(self, upstream: tuple[str, int], mode: str = "pass") -> None:
        self.upstream = upstream
        self.mode = mode
        self.trickle_seconds = 0.05
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.close()

    def _track(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._open.append(sock)
        return sock

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            self._track(client)
            threading.Thread(target=self._serve, args=(client, self.mode), daemon=True).start()

    def _serve(self, client: socket.socket, mode: str) -> None:
        try:
            if mode == "reset":
                client.recv(1)
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()  # linger 0: the peer sees RST, not FIN
                return
            if mode == "blackhole":
                while not self._stopped.is_set() and client.recv(65536):
                    pass
                return
            upstream = self._track(socket.create_connection(self.upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            self._reply(upstream, client, mode)
        except OSError:
            pass

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)

    def _reply(self, upstream: socket.socket, client: socket.socket, mode: str) -> None:
        if mode == "pass":
            self._pipe(upstream, client)
            return
        while data := upstream.recv(65536):
            if mode == "stall":
                continue  # the agency answered; the answer goes nowhere
            for i in range(len(data)):
                if self._stopped.wait(self.trickle_seconds):
                    return
                client.sendall(data[i : i + 1])
        if mode == "stall":
            self._stopped.wait()  # hold the client's connection open, silent, until stopped
