"""The read-only web API and workbench page over a store (``shadowtrace serve``).

Optional (``pip install 'shadowtrace[web]'``): the library and CLI never import this package.
"""

from __future__ import annotations

from shadowtrace.web.app import create_app

__all__ = ["create_app"]
