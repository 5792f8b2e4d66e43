"""Serving a fake platform's aiohttp app on 127.0.0.1, shared by every fake.

The socket is bound here rather than by aiohttp, so the port (0 picks a free one) is known as
soon as `serve` returns, without reaching into aiohttp's private attributes; a failure half-way
closes what was opened.
"""

from __future__ import annotations

import socket

from aiohttp import web


async def serve(
    app: web.Application, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, int]:
    """Start serving `app`; returns the runner (to `cleanup()` on stop) and the bound port."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        await runner.setup()
        await web.SockSite(runner, sock).start()
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    return runner, int(sock.getsockname()[1])
