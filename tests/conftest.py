"""Shared fixtures: settings rooted in a temporary directory."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ccrconfig.settings import Settings, SiteSettings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with every path inside `tmp_path`."""
    return dataclasses.replace(
        Settings(),
        data_dir=tmp_path / "var",
        issues_dir=tmp_path / "issues",
        site=SiteSettings(output_dir=tmp_path / "site"),
    )
