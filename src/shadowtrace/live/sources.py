"""Live NMEA feeds: a TCP client, a UDP listener and a followed file.

Each source runs in a thread of its own and hands `Chunk`s of lines to a bounded queue (a full
queue makes a TCP reader wait, so the sender is slowed by TCP's flow control instead of lines
being lost here). A dropped TCP connection is retried with exponential backoff; a sentence cut
off by the drop is still handed on, so the reader rejects and counts it.
"""

from __future__ import annotations

import os
import queue
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from shadowtrace.errors import ConfigError

SOURCE_HELP = "tcp://HOST:PORT (connect), udp://:PORT or udp://HOST:PORT (listen), file:PATH (follow)"
_RECV_BYTES = 1 << 16
_POLL_S = 0.2


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # tcp | udp | file
    host: str = ""
    port: int = 0
    path: Path | None = None

    @classmethod
    def parse(cls, text: str) -> SourceSpec:
        if text.startswith("file:"):
            path = text[5:].removeprefix("//")
            if not path:
                raise ConfigError(f"--source {text!r} names no file", hint=SOURCE_HELP)
            return cls("file", path=Path(path))
        parts = urlsplit(text)
        if parts.scheme not in ("tcp", "udp"):
            raise ConfigError(f"--source {text!r}: unknown kind of source", hint=SOURCE_HELP)
        try:
            port = parts.port
        except ValueError:
            port = None
        if not port:
            raise ConfigError(f"--source {text!r} needs a port (1-65535)", hint=SOURCE_HELP)
        host = parts.hostname or ""
        if parts.scheme == "tcp" and not host:
            raise ConfigError(f"--source {text!r} needs a host to connect to", hint=SOURCE_HELP)
        return cls(parts.scheme, host=host, port=port)

    @property
    def name(self) -> str:
        """The canonical text of the source: the key its progress is kept under."""
        if self.kind == "file":
            assert self.path is not None
            return f"file:{self.path.resolve()}"
        return f"{self.kind}://{self.host}:{self.port}"


@dataclass
class Chunk:
    """Lines received together. `offsets` (file sources) holds each line's end in bytes."""

    lines: list[str]
    received_us: int
    offsets: list[int] | None = None


@dataclass
class SourceStats:
    connects: int = 0
    drops: int = 0  # connections lost (or files truncated or rotated)
    bytes: int = 0
    lines: int = 0
    last_error: str | None = None
    connected: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def as_dict(self) -> dict[str, object]:
        with self._lock:
            return {"connects": self.connects, "drops": self.drops, "bytes": self.bytes,
                    "lines": self.lines, "connected": self.connected, "last_error": self.last_error}


@dataclass
class Backoff:
    """Exponential backoff with jitter between reconnection attempts."""

    first_s: float = 0.5
    max_s: float = 30.0
    _next: float = 0.0

    def reset(self) -> None:
        self._next = 0.0

    def next_delay(self) -> float:
        self._next = self.first_s if self._next == 0 else min(self._next * 2, self.max_s)
        return self._next * random.uniform(0.8, 1.2)


def now_us() -> int:
    return time.time_ns() // 1000


class LineSource:
    """A feed read by a background thread into `queue` until `stop` is set."""

    def __init__(self, spec: SourceSpec, out: queue.Queue[Chunk], stop: threading.Event,
                 *, start_offset: int = 0, backoff: Backoff | None = None):
        self.spec = spec
        self.out = out
        self.stop = stop
        self.start_offset = start_offset
        self.backoff = backoff or Backoff()
        self.stats = SourceStats()
        self.thread = threading.Thread(target=self._run, name=f"source {spec.name}", daemon=True)
        self.finished = threading.Event()

    def start(self) -> None:
        if self.spec.kind == "udp":  # bind now, so a port in use fails at start-up
            self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                self._udp.bind((self.spec.host or "0.0.0.0", self.spec.port))
            except OSError as exc:
                raise ConfigError(f"cannot listen on {self.spec.name}: {exc}",
                                  hint="choose a free port, e.g. udp://:10110") from exc
            self._udp.settimeout(_POLL_S)
        if self.spec.kind == "file" and self.spec.path is not None and not self.spec.path.exists():
            raise ConfigError(f"no file {self.spec.path} to follow", hint=SOURCE_HELP)
        self.thread.start()

    def _put(self, chunk: Chunk) -> None:
        with self.stats._lock:
            self.stats.lines += len(chunk.lines)
        while not self.stop.is_set():
            try:
                self.out.put(chunk, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        try:
            {"tcp": self._run_tcp, "udp": self._run_udp, "file": self._run_file}[self.spec.kind]()
        finally:
            self.finished.set()

    # -- TCP ------------------------------------------------------------------------------
    def _run_tcp(self) -> None:
        while not self.stop.is_set():
            try:
                sock = socket.create_connection((self.spec.host, self.spec.port), timeout=5)
            except OSError as exc:
                self._note_error(exc)
                self._sleep(self.backoff.next_delay())
                continue
            with self.stats._lock:
                self.stats.connects += 1
                self.stats.connected = True
            self.backoff.reset()
            try:
                self._read_stream(sock)
            finally:
                sock.close()
                with self.stats._lock:
                    self.stats.connected = False
            if not self.stop.is_set():
                with self.stats._lock:
                    self.stats.drops += 1
                self._sleep(self.backoff.next_delay())

    def _read_stream(self, sock: socket.socket) -> None:
        sock.settimeout(_POLL_S)
        rest = b""
        while not self.stop.is_set():
            try:
                data = sock.recv(_RECV_BYTES)
            except TimeoutError:
                continue
            except OSError as exc:
                self._note_error(exc)
                break
            if not data:
                self._note_error(ConnectionError("closed by the sender"))
                break
            with self.stats._lock:
                self.stats.bytes += len(data)
            lines = (rest + data).split(b"\n")
            rest = lines.pop()
            if lines:
                self._put(Chunk([line.decode("latin-1") for line in lines], now_us()))
        if rest.strip():  # cut off by the drop: handed on to be rejected and counted
            self._put(Chunk([rest.decode("latin-1")], now_us()))

    # -- UDP ------------------------------------------------------------------------------
    def _run_udp(self) -> None:
        sock = self._udp
        with self.stats._lock:
            self.stats.connected = True
        try:
            while not self.stop.is_set():
                try:
                    data, _ = sock.recvfrom(_RECV_BYTES)
                except TimeoutError:
                    continue
                except OSError as exc:
                    self._note_error(exc)
                    continue
                with self.stats._lock:
                    self.stats.bytes += len(data)
                lines = [line.decode("latin-1") for line in data.splitlines() if line.strip()]
                if lines:
                    self._put(Chunk(lines, now_us()))
        finally:
            sock.close()

    # -- file (follow) --------------------------------------------------------------------
    def _run_file(self) -> None:
        assert self.spec.path is not None
        path = self.spec.path
        offset = self.start_offset
        while not self.stop.is_set():
            try:
                handle = path.open("rb")
            except OSError as exc:
                self._note_error(exc)
                self._sleep(self.backoff.next_delay())
                continue
            with handle:
                inode = os.fstat(handle.fileno()).st_ino
                if os.fstat(handle.fileno()).st_size < offset:
                    offset = 0  # truncated while we were away: read it from the start
                handle.seek(offset)
                with self.stats._lock:
                    self.stats.connects += 1
                    self.stats.connected = True
                offset = self._follow(handle, offset, inode)
            with self.stats._lock:
                self.stats.connected = False

    def _follow(self, handle: object, offset: int, inode: int) -> int:
        """Read whole lines as they are appended; returns when the file was replaced or cut."""
        assert self.spec.path is not None
        rest = b""
        while not self.stop.is_set():
            data = handle.read(_RECV_BYTES * 4)  # type: ignore[attr-defined]
            if data:
                with self.stats._lock:
                    self.stats.bytes += len(data)
                lines = (rest + data).split(b"\n")
                rest = lines.pop()
                if lines:
                    offsets = []
                    end = offset
                    for line in lines:
                        end += len(line) + 1
                        offsets.append(end)
                    offset = end
                    self._put(Chunk([line.decode("latin-1") for line in lines], now_us(), offsets))
                continue
            try:
                stat = self.spec.path.stat()
            except OSError:
                stat = None
            if stat is None or stat.st_ino != inode or stat.st_size < offset + len(rest):
                with self.stats._lock:
                    self.stats.drops += 1
                return 0  # rotated or truncated: start over on the new file
            self._sleep(_POLL_S)
        return offset

    def _note_error(self, exc: BaseException) -> None:
        with self.stats._lock:
            self.stats.last_error = f"{type(exc).__name__}: {exc}"

    def _sleep(self, seconds: float) -> None:
        self.stop.wait(seconds)
