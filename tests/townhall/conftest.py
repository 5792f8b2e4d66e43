"""The running bot against the fakes, on each database: shared by the end-to-end tests."""

from pathlib import Path

import pytest

from townhall.testing.harness import running_townhall


@pytest.fixture
async def harness(models, database_url: str, tmp_path: Path):
    async with running_townhall(models, database_url=database_url, data_dir=tmp_path) as h:
        yield h
