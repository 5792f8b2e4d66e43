"""The bot as a child process for `townhall bench chaos`: start it, wait until it answers, kill it.

Why a real process: an in-process bot cannot be SIGKILLed without killing the bench, and only a
real kill proves the claims of the outbox and the ingest (nothing is lost, nothing sent twice)
at any instant, including between a platform accepting a send and the database recording it.
The child is the ordinary `townhall run` entry with its settings in `TOWNHALL_*` variables, so
what is tested is exactly what a city deploys.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp

import townhall

# the working directory of the child: config/townhall.toml, config/faq.yaml and var/onnx are
# found relative to it, as when a city runs `townhall run` from its checkout
PROJECT_ROOT = Path(townhall.__file__).resolve().parent.parent
ENTRY = "from townhall.cli import main; main()"
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGKILL it when the bench dies, however it dies, so an
    interrupted bench never leaves a bot polling the next run's fakes."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class BotDied(RuntimeError):
    """The child exited on its own (a crash, a bad setting): its log says why."""


class BotProcess:
    """One `townhall run` child at a time, restarted with the same environment after a kill."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env = {**os.environ, **env}
        self.port = port
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0
        self.startup_seconds: list[float] = []

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self, timeout: float = 120.0) -> float:
        """Spawn the child and wait for GET /healthz to say ok; returns the seconds it took."""
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start {self.starts + 1} ===\n".encode())
            log.flush()
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                ENTRY,
                "run",
                "--log-level",
                "warning",
                cwd=PROJECT_ROOT,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        self.starts += 1
        await self._wait_healthy(started + timeout)
        took = time.monotonic() - started
        self.startup_seconds.append(took)
        return took

    async def _wait_healthy(self, deadline: float) -> None:
        url = f"http://127.0.0.1:{self.port}/healthz"
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if not self.running:
                    raise BotDied(f"the bot exited with {self._code()}; see {self.log_path}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise TimeoutError(f"the bot was not healthy in time; see {self.log_path}")

    def _code(self) -> int | None:
        return self.process.returncode if self.process else None

    async def kill(self) -> None:
        """SIGKILL: no handler runs, no transaction commits, no send finishes."""
        if self.process is None:
            return
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGKILL)
            self.kills += 1
        await self.process.wait()

    async def stop(self, grace: float = 20.0) -> None:
        """SIGTERM and wait (the bot's own clean stop), then SIGKILL if it hangs."""
        if self.process is None or self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(grace):
                await self.process.wait()
        except TimeoutError:
            await self.kill()

    def check_alive(self) -> None:
        """Raise when the child died by itself (not by our kill)."""
        if self.process is not None and self.process.returncode is not None:
            raise BotDied(f"the bot exited with {self._code()}; see {self.log_path}")
