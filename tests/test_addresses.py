"""Address and display-name validation, including hostile inputs."""

from __future__ import annotations

import pytest

from subscribers.addresses import AddressError, address_key, normalise_address, normalise_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jane@example.org", "jane@example.org"),
        ("Jane.Doe@Example.ORG", "Jane.Doe@example.org"),
        ("  jane@example.org  ", "jane@example.org"),
        ("info+ccrlist@ccrweb.ca", "info+ccrlist@ccrweb.ca"),
        ("élise@exemple.ca", "élise@exemple.ca"),
        ("o'brien@example.org", "o'brien@example.org"),
    ],
)
def test_valid_addresses_are_normalised(raw: str, expected: str) -> None:
    assert normalise_address(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "no-at-sign",
        "two@@example.org",
        "jane@localhost",
        "jane@example",
        "jane@example.org\r\nRCPT TO:<evil@example.net>",
        "jane@example.org\nBcc: all@example.net",
        "jane\x00@example.org",
        "jane@exa\rmple.org",
        "jane doe@example.org",
        "<jane@example.org>",
        "jane@example.org, evil@example.net",
        "jane@example.org;evil@example.net",
        '"jane doe"@example.org',
        "jane@[192.0.2.1]",
        "jane(comment)@example.org",
        "jane\u2028@example.org",
        "a" * 65 + "@example.org",
        "jane@" + "a" * 250 + ".org",
    ],
)
def test_hostile_or_invalid_addresses_are_refused(raw: str) -> None:
    with pytest.raises(AddressError):
        normalise_address(raw)


def test_comparison_is_case_insensitive() -> None:
    assert address_key(normalise_address("JANE@EXAMPLE.ORG")) == address_key(
        normalise_address("jane@example.org"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, ""), ("  Jane   Doe ", "Jane Doe"), ("Élise Côté", "Élise Côté")],
)
def test_names_are_trimmed(raw: str | None, expected: str) -> None:
    assert normalise_name(raw) == expected


@pytest.mark.parametrize(
    "raw", ["Jane\r\nBcc: x@example.net", "Jane\nDoe", "Ja\x00ne", "x" * 201, "Jane\u2029"])
def test_hostile_names_are_refused(raw: str) -> None:
    with pytest.raises(AddressError):
        normalise_name(raw)
