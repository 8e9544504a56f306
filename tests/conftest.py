"""Shared fixtures: settings rooted in a temporary directory, and a recording relay."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import RecordingRelay, start_relay

from ccrlist.config.settings import Settings, SiteSettings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with every path inside `tmp_path`."""
    return dataclasses.replace(
        Settings(),
        data_dir=tmp_path / "var",
        issues_dir=tmp_path / "issues",
        site=SiteSettings(output_dir=tmp_path / "site"),
    )


@pytest.fixture
def relay() -> RecordingRelay:
    """The upstream relay's far side: records what it accepts, refuses or drops on request."""
    return RecordingRelay()


@pytest.fixture
def controller(relay: RecordingRelay) -> Iterator[Controller]:
    """`relay` served on a loopback port for the test's duration."""
    c = start_relay(relay)
    yield c
    c.stop()
