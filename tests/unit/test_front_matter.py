"""YAML front matter with an alias bomb (each level nine references to the one before) is refused at once by
the Markdown document and event-page parsers, while plain front matter still loads."""

from __future__ import annotations

import time
from datetime import date

import pytest

from observatory.parse import ParseError, document, event_page
from observatory.parse.front_matter import load_front_matter


def alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{n}: &a{n} [{','.join([f'*a{n - 1}'] * 9)}]" for n in range(1, levels + 1)]
    return "---\n" + "\n".join(lines) + "\ntitle: Bomb\n---\n# Heading\n\nBody\n"


@pytest.mark.parametrize(
    ("parser", "options", "message"),
    [
        (document, {"resource_name": "bomb.md"}, "front matter is not valid YAML: YAML aliases are refused"),
        (event_page, {"timezone": "Europe/Prague", "resource_name": "bomb.md"}, "aliases are refused"),
    ],
)
def test_alias_bomb_in_front_matter_is_refused_at_once(parser, options, message) -> None:
    started = time.monotonic()
    with pytest.raises(ParseError, match=message):
        list(parser.parse(alias_bomb().encode(), options))
    assert time.monotonic() - started < 5  # 9**9 expansions would take minutes and gigabytes


def test_front_matter_without_aliases_loads() -> None:
    assert load_front_matter("title: Integration\ndate: 2024-05-02\ntags: [a, b]\n") == {
        "title": "Integration",
        "date": date(2024, 5, 2),
        "tags": ["a", "b"],
    }
