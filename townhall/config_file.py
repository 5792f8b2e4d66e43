"""Changing a few values in the TOML settings file while keeping its comments and layout.

Why not a TOML writer: the file is documentation as much as configuration, and rewriting it
would drop every comment. The values written here are numbers, so a line edit is enough.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from townhall.settings import DEFAULT_CONFIG


def config_path() -> Path:
    """The settings file the bot reads: `TOWNHALL_CONFIG`, or config/townhall.toml."""
    return Path(os.environ.get("TOWNHALL_CONFIG", DEFAULT_CONFIG))


def set_values(path: Path, section: str, values: dict[str, float]) -> None:
    """Set `key = value` lines inside `[section]`, adding the keys that are missing."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = f"[{section}]"
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == header)
    except StopIteration:
        lines += ["", header]
        start = len(lines) - 1
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines)
    )
    missing = dict(values)
    for index in range(start + 1, end):
        match = re.match(r"\s*([A-Za-z0-9_]+)\s*=", lines[index])
        if match and match.group(1) in missing:
            key = match.group(1)
            lines[index] = f"{key} = {missing.pop(key)!r}"
    insert_at = end
    while insert_at > start + 1 and not lines[insert_at - 1].strip():
        insert_at -= 1  # after the section's last line, before the blank line that ends it
    lines[insert_at:insert_at] = [f"{key} = {value!r}" for key, value in missing.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
