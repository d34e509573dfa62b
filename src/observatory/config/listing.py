"""``observatory sources``: what a collection of a registry profile would fetch, without fetching it."""

from __future__ import annotations

from collections.abc import Iterator

from observatory.collect import planned_resources
from observatory.config.registry import RegistryError, load_registry
from observatory.config.settings import Settings


def source_lines(settings: Settings, profile: str | None = None) -> Iterator[str]:
    """Per entry a ``source <id> ...`` line, then one ``  fetch <resource>`` line per resource, then
    ``sources profile=<name> entries=<N> resources=<M>``."""
    registry = load_registry(settings=settings, profile=profile)
    resources = 0
    for source in sorted(registry.sources.values(), key=lambda source: source.source_id):
        try:
            planned, follows = planned_resources(source)
        except RegistryError as exc:  # e.g. a ${VAR} the deployment sets and this shell does not
            planned, follows = [], f"(not resolved here: {exc})"
        sample = " sample" if source.sample else ""
        yield (
            f"source {source.source_id} kind={source.kind} format={source.format} collector={source.collector} "
            f"schedule={source.schedule}{sample}"
        )
        for resource in planned:
            yield f"  fetch {resource}"
        if follows:
            yield f"  then {follows}"
        resources += len(planned)
    yield f"sources profile={registry.profile} entries={len(registry.sources)} resources={resources}"
