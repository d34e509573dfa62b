"""Versions and duplicates of a VEVENT: per (UID, RECURRENCE-ID) the latest is kept."""

from __future__ import annotations

from datetime import datetime

from observatory.parse import Rejected
from observatory.parse.calendar.notes import Notes
from observatory.parse.calendar.structure import property_name
from observatory.parse.calendar.vevent import Event


def latest_versions(events: list[Event], notes: Notes) -> tuple[list[Event], list[Rejected]]:
    """One VEVENT per (UID, RECURRENCE-ID): the highest SEQUENCE / latest LAST-MODIFIED (the later on a tie);
    older versions are noted, duplicates (the same start, or both without one) and conflicting versions rejected."""
    groups: dict[tuple[str, datetime | None], list[Event]] = {}
    for event in events:
        groups.setdefault((event.uid, event.recurrence_id), []).append(event)
    kept: list[Event] = []
    rejected: list[Rejected] = []
    for members in groups.values():
        best = members[0]
        for member in members[1:]:
            if member.rank >= best.rank:
                best = member
        kept.append(best)
        for member in members:
            if member is best:
                continue
            if member.rank < best.rank:
                notes.add(
                    f"superseded by a later version (higher SEQUENCE / LAST-MODIFIED) in {best.label}", member.where
                )
            elif member.start == best.start:
                same = " (identical text)" if _same_text(member, best) else ""
                reason = f"duplicate of {best.label}: same UID, RECURRENCE-ID, start, SEQUENCE and LAST-MODIFIED{same}"
                rejected.append(Rejected(member.where, reason, member.raw))
            else:
                reason = (
                    f"conflicts with {best.label}: same UID, RECURRENCE-ID, SEQUENCE and LAST-MODIFIED but another "
                    f"start ({_start(member)}, kept {_start(best)}, the later one)"
                )
                rejected.append(Rejected(member.where, reason, member.raw))
    kept.sort(key=lambda event: event.block.index)
    return kept, rejected


def _start(event: Event) -> str:
    return f"{event.start:%Y-%m-%d %H:%M} UTC" if event.start else "no start"


def _same_text(one: Event, other: Event) -> bool:
    def significant(event: Event) -> list[str]:
        return [line.text for line in event.block.lines if property_name(line.text) != "DTSTAMP"]

    return significant(one) == significant(other)
