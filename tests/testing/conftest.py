"""Fixtures for the fakes' own tests: the X OpenAPI spec and a fake X validating against it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from townhall.testing.fake_x import FakeX
from townhall.testing.x_spec import XSpec

REPO = Path(__file__).resolve().parents[2]


def x_fixtures() -> Path:
    base = os.environ.get("TOWNHALL_PLATFORM_FIXTURES")
    return (Path(base) if base else REPO.parent / "shared" / "platform-fixtures") / "x"


@pytest.fixture(scope="session")
def spec() -> XSpec:
    path = x_fixtures() / "openapi.json"
    if not path.exists():
        pytest.skip(f"X OpenAPI spec not found at {path} (set TOWNHALL_PLATFORM_FIXTURES)")
    return XSpec.load(path)


@pytest.fixture
async def fake(spec: XSpec) -> AsyncIterator[FakeX]:
    async with FakeX(spec=spec) as server:
        yield server
