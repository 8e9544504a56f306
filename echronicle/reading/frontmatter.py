"""Split an issue file into YAML front matter (with each key's line) and the Markdown body
(pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from echronicle.reading.errors import IssueError

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class FrontMatter:
    values: dict[str, Any]
    lines: dict[str, int]
    body: str
    body_line: int  # the file line on which the body starts (1-based)

    def line(self, key: str) -> int:
        return self.lines.get(key, 1)


def split_front_matter(source: str, text: str) -> FrontMatter:
    """Read the `---` delimited YAML block at the top of `text`."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise IssueError(source, 1,
                         "the file must start with a '---' line opening the front matter")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise IssueError(source, 1, "the front matter is not closed by a '---' line")
    yaml_text = "".join(lines[1:end])
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
        problem = exc.problem
        raise IssueError(source, line, f"the front matter is not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:  # unmarked: the reader's own complaints
        raise IssueError(source, 2, f"the front matter is not valid YAML: {exc}") from None
    except ValueError as exc:  # e.g. a date like 2017-13-45, which YAML rejects itself
        line = _line_of_value_error(yaml_text)
        raise IssueError(source, line, f"bad date in the front matter: {exc}") from None
    if not isinstance(values, dict):
        raise IssueError(source, 2, "the front matter must be a set of 'field: value' lines")
    key_lines: dict[str, int] = {}
    if node is not None:
        for key_node, value_node in node.value:
            key_lines[str(key_node.value)] = key_node.start_mark.line + 2
            if isinstance(value_node, yaml.SequenceNode):  # so list entries get their own line
                for index, entry in enumerate(value_node.value, start=1):
                    key_lines[f"{key_node.value}[{index}]"] = entry.start_mark.line + 2
    return FrontMatter({str(k): v for k, v in values.items()}, key_lines,
                       "".join(lines[end + 1:]), end + 2)


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
