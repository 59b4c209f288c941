"""A local NMEA feed for the live tests: a TCP server replaying lines, with faults on demand."""

from __future__ import annotations

import socket
import threading
import time


class ReplayServer:
    """Serves `lines` over TCP to whoever connects, in chunks, as fast as the client reads
    (an accelerated replay). `drop_after` line counts close the connection there (the client
    must reconnect; the replay goes on from the next line); `cut` sends the first half of
    a sentence just before each drop; `garbage` maps a line index to junk sent before it."""

    def __init__(self, lines: list[str], *, drop_after: tuple[int, ...] = (), cut: str | None = None,
                 garbage: dict[int, list[str]] | None = None, chunk_lines: int = 500,
                 pause_s: float = 0.0):
        self.lines = lines
        self.drops = sorted(drop_after)
        self.cut = cut
        self.garbage = garbage or {}
        self.chunk_lines = chunk_lines
        self.pause_s = pause_s
        self.sent = 0
        self.connections = 0
        self.done = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn:
                try:
                    self._send(conn)
                except OSError:  # the client went away (it stopped, or the test ended)
                    continue

    def _send(self, conn: socket.socket) -> None:
        while self.sent < len(self.lines) and not self._stop.is_set():
            stop_at = min(self.sent + self.chunk_lines, len(self.lines))
            drop = next((d for d in self.drops if self.sent < d <= stop_at), None)
            if drop is not None:
                stop_at = drop
            out = []
            for i in range(self.sent, stop_at):
                out.extend(self.garbage.get(i, []))
                out.append(self.lines[i])
            conn.sendall(("\n".join(out) + "\n").encode("latin-1"))
            self.sent = stop_at
            if drop is not None:
                self.drops.remove(drop)
                if self.cut:
                    conn.sendall(self.cut.encode("latin-1"))
                return  # close: the client has to reconnect
            if self.pause_s:
                time.sleep(self.pause_s)
        self.done.set()
        self._stop.wait()  # keep the connection open, as a live feed would

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._server.close()
