"""Where alerts go: JSON lines on stdout, webhooks (retried), and live subscribers (the map).

Webhook delivery runs in a thread of its own so a slow or dead receiver never holds up the
feed; each alert is POSTed as JSON and retried with exponential backoff on connection errors
and 5xx/429 answers; the outcome (delivered or failed, attempts, last error) is recorded in
`alert_deliveries` by the watcher.
"""

from __future__ import annotations

import contextlib
import json
import queue
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlsplit

from shadowtrace.errors import ConfigError


class JsonLinesSink:
    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def send(self, alert: dict[str, Any]) -> None:
        self.stream.write(json.dumps(alert, default=str) + "\n")
        self.stream.flush()

    def close(self) -> None:
        pass


@dataclass
class Delivery:
    alert_id: str
    target: str
    status: str  # delivered | failed
    attempts: int
    last_error: str | None


class WebhookSink:
    """POSTs each alert to `url`; retries up to `max_attempts` with backoff."""

    def __init__(self, url: str, on_done: Callable[[Delivery], None], *, max_attempts: int = 6,
                 first_delay_s: float = 0.5, max_delay_s: float = 30.0, timeout_s: float = 10.0):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"--webhook {url!r} is not an http(s) URL", hint="e.g. --webhook https://example.org/hook")
        self.url = url
        self.on_done = on_done
        self.max_attempts = max_attempts
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.timeout_s = timeout_s
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"webhook {url}", daemon=True)
        self._thread.start()

    def send(self, alert: dict[str, Any]) -> None:
        self._queue.put(alert)

    def _run(self) -> None:
        while True:
            alert = self._queue.get()
            if alert is None:
                return
            self.on_done(self._deliver(alert))

    def _deliver(self, alert: dict[str, Any]) -> Delivery:
        body = json.dumps(alert, default=str).encode()
        delay = self.first_delay_s
        error = None
        for attempt in range(1, self.max_attempts + 1):
            request = urllib.request.Request(self.url, data=body, method="POST", headers={
                "Content-Type": "application/json", "User-Agent": "shadowtrace-watch",
                "X-Shadowtrace-Alert": alert["alert_id"]})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 - http(s) checked
                    if 200 <= response.status < 300:
                        return Delivery(alert["alert_id"], self.url, "delivered", attempt, None)
                    error = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                error = f"HTTP {exc.code}"
                if exc.code < 500 and exc.code != 429:  # the receiver refuses it: retrying won't help
                    return Delivery(alert["alert_id"], self.url, "failed", attempt, error)
            except (urllib.error.URLError, OSError) as exc:
                error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            if attempt < self.max_attempts:
                time.sleep(delay)
                delay = min(delay * 2, self.max_delay_s)
        return Delivery(alert["alert_id"], self.url, "failed", self.max_attempts, error)

    def close(self, timeout_s: float = 30.0) -> None:
        """Deliver what is queued (up to `timeout_s`), then stop."""
        self._queue.put(None)
        self._thread.join(timeout_s)


class Broadcast:
    """In-process fan-out of alerts to live subscribers (the web map's event stream)."""

    def __init__(self, backlog: int = 1000):
        self._lock = threading.Lock()
        self._subscribers: list[queue.Queue[dict[str, Any]]] = []
        self.backlog = backlog

    def subscribe(self) -> queue.Queue[dict[str, Any]]:
        q: queue.Queue[dict[str, Any]] = queue.Queue(self.backlog)
        with self._lock:
            self._subscribers.append(q)
        return q

    def unsubscribe(self, q: queue.Queue[dict[str, Any]]) -> None:
        with self._lock:
            if q in self._subscribers:
                self._subscribers.remove(q)

    def send(self, alert: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for q in subscribers:
            with contextlib.suppress(queue.Full):  # a stalled client reloads /api/alerts later
                q.put_nowait(alert)

    def close(self) -> None:
        pass
