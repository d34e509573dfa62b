"""The payload's structure: unfolded content lines, its VCALENDARs and components (VEVENT, VTIMEZONE, the others
skipped), and the parts of one content line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from icalendar.parser.content_line import Contentline
from icalendar.parser.parameter import Parameters

from observatory.parse import ParseError

_TOP_LEVEL = frozenset({"VCALENDAR", "VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VTIMEZONE", "VAVAILABILITY"})
_PHYSICAL_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)?")
_PROPERTY_NAME = re.compile(r"[A-Za-z0-9-]+")
_SURROGATE = re.compile(r"[\udc80-\udcff]")


def clean(text: str) -> str:
    """Text PostgreSQL stores: undecodable bytes and NUL as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text).replace("\x00", "\ufffd")


@dataclass
class Line:
    text: str  # unfolded
    number: int  # its first physical line, from 1
    begin: int  # offsets in the decoded payload
    end: int


@dataclass
class Block:
    name: str
    line: Line  # its BEGIN line
    lines: list[Line] = field(default_factory=list)  # its own property lines (not those of nested components)
    end: int = 0  # offset after its END line
    broken: str | None = None  # why it cannot be read at all
    undecodable: bool = False
    index: int = 0  # VEVENT #n in the feed
    complete: bool = False  # closed by its own END line
    wrapper: str = "VCALENDAR"  # of a VEVENT: the top-level component it is in ("" for none)


@dataclass
class Feed:
    text: str
    calendar_lines: list[Line] = field(default_factory=list)
    events: list[Block] = field(default_factory=list)
    timezones: list[Block] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # component name → count, not read
    calendars: int = 0
    stray_lines: int = 0  # outside any VCALENDAR, or END without BEGIN
    unended: str | None = None  # the file note when the payload ends before END:VCALENDAR

    def raw(self, block: Block) -> str:
        """The block's text as it is in the payload (undecodable bytes as U+FFFD)."""
        return clean(self.text[block.line.begin : block.end or len(self.text)])


def logical_lines(text: str) -> Iterator[Line]:
    """Unfolded content lines (a line starting with a space or tab continues the previous one)."""
    current: Line | None = None
    for number, match in enumerate(_PHYSICAL_LINE.finditer(text), start=1):
        if match.start() == match.end():
            break
        physical = match.group().rstrip("\r\n")
        if physical[:1] in (" ", "\t") and current is not None:
            current.text += physical[1:]
            current.end = match.end()
            continue
        if current is not None:
            yield current
        current = Line(physical, number, match.start(), match.end()) if physical.strip() else None
    if current is not None:
        yield current


def scan(payload: bytes) -> Feed:
    """The payload's components. A VEVENT is read inside a VCALENDAR, inside an unknown top-level component
    (``BEGIN:MYCOMP``, read as its wrapper) or on its own (no wrapper); a payload that ends before END:VCALENDAR
    keeps its complete VEVENTs. ``ParseError`` when no complete VEVENT saves a payload that is no calendar."""
    if payload.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ParseError("iCalendar payload is not UTF-8: it starts with a UTF-16 byte-order mark")
    feed = Feed(payload.decode("utf-8-sig", errors="surrogateescape"))
    stack: list[Block] = []
    not_a_calendar: str | None = None  # the first sign that the payload is no calendar
    unmatched: list[Line] = []  # END lines that end no open component
    wrapping: set[str] = set()  # unknown top-level components that hold a VEVENT

    def is_wrapper(block: Block) -> bool:  # at the top: a VCALENDAR, or an unknown component read as one
        return block.name == "VCALENDAR" or block.name not in _TOP_LEVEL

    def close(block: Block, end: int, broken: str | None = None) -> None:
        block.end, block.broken = end, block.broken or broken
        parent = stack[-1] if stack else None
        if parent is None:
            if block.name == "VCALENDAR":
                feed.calendars += 1
                feed.calendar_lines += block.lines
            elif block.name == "VEVENT":
                block.index, block.wrapper = len(feed.events) + 1, ""
                feed.events.append(block)
            elif block.name in wrapping:
                feed.calendar_lines += block.lines
            else:
                feed.skipped[f"{block.name} outside VCALENDAR"] = (
                    feed.skipped.get(f"{block.name} outside VCALENDAR", 0) + 1
                )
        elif len(stack) == 1 and is_wrapper(parent):
            if block.name == "VEVENT":
                block.index, block.wrapper = len(feed.events) + 1, parent.name
                feed.events.append(block)
                wrapping.add(parent.name)
            elif block.name == "VTIMEZONE":
                feed.timezones.append(block)
            else:
                feed.skipped[block.name] = feed.skipped.get(block.name, 0) + 1
        elif block.undecodable:
            parent.undecodable = True

    for line in logical_lines(feed.text):
        keyword, colon, name = "", "", ""
        if line.text.lstrip()[:1] in ("B", "b", "E", "e"):
            keyword, colon, name = line.text.partition(":")
            keyword, name = keyword.strip().upper(), name.strip().upper()
        undecodable = bool(_SURROGATE.search(line.text))
        if undecodable and not feed.calendars and not stack:
            raise ParseError(f"iCalendar payload is not UTF-8: undecodable bytes on line {line.number}")
        if colon and keyword == "BEGIN" and name:
            if not stack and name != "VCALENDAR" and not feed.calendars and not_a_calendar is None:
                not_a_calendar = f"expected a VCALENDAR, found {name} (line {line.number})"
            if name in _TOP_LEVEL:  # opens at the top or in a wrapper only: whatever is still open was not ended
                keep = 1 if name != "VCALENDAR" and stack and is_wrapper(stack[0]) else 0
                while len(stack) > keep:
                    open_block = stack.pop()
                    close(open_block, line.begin, f"no END:{open_block.name} before BEGIN:{name} on line {line.number}")
            stack.append(Block(name, line, undecodable=undecodable))
        elif colon and keyword == "END" and name:
            if name not in {block.name for block in stack}:
                feed.stray_lines += 1
                unmatched.append(line)
                continue
            while stack[-1].name != name:
                open_block = stack.pop()
                close(open_block, line.begin, f"no END:{open_block.name} before END:{name} on line {line.number}")
            close_block = stack.pop()
            close_block.complete = True
            close(close_block, line.end)
        elif not stack:
            feed.stray_lines += 1
        else:
            stack[-1].lines.append(line)
            if undecodable:
                for block in stack[1:]:
                    block.undecodable = True
                if len(stack) == 1:
                    feed.stray_lines += 1
                    stack[-1].lines.pop()
    ended_inside = None
    if stack:
        innermost, outermost = stack[-1], stack[0]
        ended_inside = (
            f"iCalendar payload ends inside {innermost.name} (begun on line {innermost.line.number}) "
            f"before END:{outermost.name}: truncated?"
        )
        mistyped = unmatched[-1] if unmatched else None
        while stack:
            open_block = stack.pop()
            close(open_block, len(feed.text), f"no END:{open_block.name}: the payload ends inside it")
        last = feed.events[-1] if feed.events else None
        feed.unended = (
            f"ends before END:{outermost.name}: the {outermost.name} begun on line {outermost.line.number} has no END"
            + (f" (line {mistyped.number} {clean(mistyped.text)[:40]!r} ends no component)" if mistyped else "")
            + f"; its {sum(block.complete for block in feed.events)} complete VEVENT(s) are read"
            + (
                f", the VEVENT begun on line {last.line.number}, not ended, is rejected"
                if last is not None and not last.complete and last.end == len(feed.text)
                else ""
            )
        )
    if not any(block.complete for block in feed.events):
        if not_a_calendar and not feed.calendars:
            raise ParseError(not_a_calendar)
        if ended_inside:
            raise ParseError(ended_inside)
        if not feed.calendars:
            raise ParseError("not an iCalendar payload: no BEGIN:VCALENDAR ... END:VCALENDAR")
    return feed


def property_name(text: str) -> str:
    match = _PROPERTY_NAME.match(text)
    return match.group().upper() if match else ""


def property_parts(text: str) -> tuple[Parameters, str] | None:
    """Parameters and raw value of a content line, or None when it is not one."""
    name = property_name(text)
    if name and text[len(name) : len(name) + 1] == ":":  # no parameters: the common case, read fast
        return Parameters(), text[len(name) + 1 :]
    try:
        _, params, value = Contentline(text).raw_parts()
    except Exception:
        return None
    return params, value


def time_property_parts(text: str) -> tuple[Parameters, str, bool] | None:
    """Parameters and value of a date/time property, and whether it had to be read leniently: its value never
    holds ``:``, so the value starts after the last colon (an unquoted TZID like ``(UTC+01:00) Amsterdam`` is
    read whole); empty parameters are skipped and quotes dropped when they do not pair."""
    head, colon, value = text.rpartition(":")
    if not colon:
        return None
    lenient = head.count('"') % 2 == 1
    if lenient:
        head = head.replace('"', "")
    items, current, quoted = [], "", False
    for char in head:
        if char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            items.append(current)
            current = ""
            continue
        current += char
    items.append(current)
    params = Parameters()
    for item in items[1:]:
        key, equals, param = item.partition("=")
        if key.strip() and equals:
            param = param.strip()
            lenient = lenient or (":" in param and not param.startswith('"'))
            params[key.strip().upper()] = param.strip('"')
        else:
            lenient = True
    return params, value.strip(), lenient
