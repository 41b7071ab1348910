"""Secrets of a run, from Prefect blocks (Prefect is imported by orchestration only)."""

from __future__ import annotations

from typing import Any


def prefect_secret(name: str) -> Any:
    """The value of the Prefect Secret block `name` (a string or a dict)."""
    from prefect.blocks.system import Secret

    return Secret.load(name).get()
