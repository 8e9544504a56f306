"""Split an issue file into YAML front matter (with each key's line) and the Markdown body
(pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from echronicle.reading.errors import Findings

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class FrontMatter:
    values: dict[str, Any]
    lines: dict[str, int]
    body: str
    body_line: int  # the file line on which the body starts (1-based)
    read: bool = True  # False: the block is missing or not YAML; its fields cannot be checked

    def line(self, key: str) -> int:
        return self.lines.get(key, 1)


def split_front_matter(text: str, found: Findings) -> FrontMatter:
    """Read the `---` delimited YAML block at the top of `text`; mistakes go to `found`.

    A missing block leaves the whole text as the body, and bad YAML leaves no values, so the
    body is still read and its mistakes reported with the rest.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        found.add(1, "the file must start with a '---' line opening the front matter")
        return FrontMatter({}, {}, text, 1, read=False)
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        found.add(1, "the front matter is not closed by a '---' line")
        return FrontMatter({}, {}, "", len(lines) + 1, read=False)
    yaml_text = "".join(lines[1:end])
    body, body_line = "".join(lines[end + 1:]), end + 2
    try:
        loader = _Loader(yaml_text)
        try:
            node = loader.get_single_node()
            values = loader.construct_document(node) if node is not None else {}
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark is not None else 1
        found.add(line, f"the front matter is not valid YAML: {exc.problem}")
        return FrontMatter({}, {}, body, body_line, read=False)
    except yaml.YAMLError as exc:  # unmarked: the reader's own complaints
        found.add(2, f"the front matter is not valid YAML: {exc}")
        return FrontMatter({}, {}, body, body_line, read=False)
    except ValueError as exc:  # e.g. a date like 2017-13-45, which YAML rejects itself
        found.add(_line_of_value_error(yaml_text), f"bad date in the front matter: {exc}")
        return FrontMatter({}, {}, body, body_line, read=False)
    if not isinstance(values, dict):
        found.add(2, "the front matter must be a set of 'field: value' lines")
        return FrontMatter({}, {}, body, body_line, read=False)
    key_lines: dict[str, int] = {}
    if node is not None:
        for key_node, value_node in node.value:
            key_lines[str(key_node.value)] = key_node.start_mark.line + 2
            if isinstance(value_node, yaml.SequenceNode):  # so list entries get their own line
                for index, entry in enumerate(value_node.value, start=1):
                    key_lines[f"{key_node.value}[{index}]"] = entry.start_mark.line + 2
    return FrontMatter({str(k): v for k, v in values.items()}, key_lines, body, body_line)


def _line_of_value_error(yaml_text: str) -> int:
    """Best guess at the line holding a date YAML could not build: the first that fails alone."""
    for number, line in enumerate(yaml_text.splitlines(), start=2):
        _, colon, value = line.partition(":")
        if not colon:
            continue
        try:
            yaml.load(value.strip() or "null", Loader=_Loader)
        except (ValueError, yaml.YAMLError):
            return number
    return 1
