"""YAML front matter read without aliases: ``&a [*b, *b, …]`` nested a few levels expands exponentially (an alias
bomb), and no real front matter needs an alias."""

from __future__ import annotations

from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler


class NoAliasLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses any alias (``*name``) before composing it."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("YAML aliases are refused in front matter")
        return super().compose_node(parent, index)


class NoAliasYAMLHandler(YAMLHandler):
    """python-frontmatter's YAML handler with :class:`NoAliasLoader`."""

    def load(self, fm: str, **kwargs: object) -> Any:
        return yaml.load(fm, Loader=NoAliasLoader)


def load_front_matter(text: str) -> Any:
    """The YAML document ``text``, aliases refused."""
    return yaml.load(text, Loader=NoAliasLoader)
