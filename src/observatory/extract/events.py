"""Events (meetings, conferences, academies, sessions) with their dates, city, organiser and agenda.

Three layouts are recognised, each needing a date of day or month precision:

* a heading or short line holding a title and a date: "Integrating Cities Conference - 7-8 November
  2018, Milan", "WG meeting in Toulouse, 8-10 April"; the title must name an event (conference,
  meeting, forum, ...) unless a city follows the date or stands right before it ("Working group on
  housing – Lisbon, 6-7 December"), or else one of the two heading lines above names one ("PEER
  REVIEW: ..." / "Hosted by the City of Utrecht, 14-15 May 2024");
* a line holding only a date (and place), titled by the next line when that names an event (an agenda
  day: "20 September 2021" / "Thematic Session - ...") or else by one of the two heading lines before
  it ("MC2CM DAYS: ..." / "20-24 September 2021 in Brussels");
* a sentence with a date and an event noun or verb: "the next meeting is scheduled for 12 June in
  Rome", "The WG met in Milan on 8-9 November"; "This will take place in Antwerp on 21-22 May" takes
  its title from the previous sentence; "The previous edition, held in Vienna on 9-10 November 2022"
  takes the noun phrase that opens the sentence. Deadlines ("apply until 1 April") and starts ("since
  March 2022") are not events, nor is an event noun inside an organisation's name ("the UN General
  Assembly adopted ...") unless an event verb says that something takes place.

Event facts carry ``title``, ``event_type`` (the event noun), ``start_date``, ``end_date``, ``city``,
``city_geonames_id`` and ``city_country_code`` (from the event's own text, else from an enclosing event,
named in ``parent``),
``organiser`` and ``co_organisers`` ("organised by X", "X is organising ..."), and ``agenda``: the
timed items under an agenda day, each with ``start_time``, ``end_time``, ``title``, offsets and
``speakers`` (``name``, ``role``, ``organisation``, ``function``: speaker, keynote, panellist,
moderator; ``name`` is null for "European Commission representative").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from observatory.extract.document import Document
from observatory.extract.facts import Fact, make_fact

_EVENT_NOUN = re.compile(
    r"\b(?:(?i:conference|forum|meeting|academy|session|summit|seminar|workshop|webinar|dialogue|congress|"
    r"symposium|roundtable|round table|hearing|study visit|site visit|festival|expo|gathering|event|"
    r"peer review|training|info day|information day|open day|(?:summer|winter|spring|autumn) school)s?"
    r"|(?i:assembl(?:y|ies))|Days|DAYS|Week|WEEK)\b(?!\.\w)"
)
_EVENT_VERB = re.compile(
    r"\b(?:met|meet|meets|will meet|(?:will )?take[sn]? place|took place|(?:will be|is|are|was|were) held|"
    r"held (?:in|on|at)|convened?|gathered|(?:is|are) scheduled|will gather)\b",
    re.IGNORECASE,
)
_MEETING_SUBJECT = re.compile(
    r"(?:^|[.;]\s+)(?:The\s+)?(?P<subject>[A-Z][\w&-]*(?:\s+(?:[A-Z][\w&-]*|of|on|for|and))*?)\s+"
    r"(?:met|will meet|meets)\b"
    r"|^(?:The|Our|Its|Their)\s+(?P<named>[a-z][\w&’'-]*(?:\s+(?:[a-z][\w&’'-]*)){0,4}?)\s+(?:met|will meet|meets)\b"
)
# The noun phrase that opens a sentence, up to a comma or an event verb: "The previous edition, held in ..."
_OPENING_SUBJECT = re.compile(r"^\W*(?:The|This|Our|Its|Their)\s+(?P<subject>[\w&’'-]+(?:\s+[\w&’'-]+){0,5}?)\s*,")
_DATE_NEIGHBOUR_GAP = re.compile(r"\s*[,–—-]\s*")
_DEADLINE_BEFORE = re.compile(  # a deadline, or the start of a state ("since March 2022"), is no event date
    r"\b(?:until|by|before|since|deadline|due|no later than|closes? on|open until)\W{0,4}$", re.IGNORECASE
)
_ANAPHORA = re.compile(r"^\W*(?:This|It|The (?:event|meeting|conference|academy|session|forum))\b")
_ORGANISED_BY = re.compile(r"\b(?:co-)?(?:organi[sz]ed|hosted|convened)\s+by\b", re.IGNORECASE)
_ORGANISING = re.compile(
    r"\b(?:is|are|will be|was|were)?\s*(?:organi[sz]ing|organi[sz]es|hosting|hosts|will host|will organi[sz]e|"
    r"convenes)\b",
    re.IGNORECASE,
)
_NAMED_AFTER_BY = re.compile(r"\s+(?:the\s+)?([A-Z][\w'’-]*(?:\s+(?:of|for|and|the|[A-Z][\w'’-]*))*)")
_LINE_MARKUP = re.compile(r"[\s#>*•✓+-]*(?:\d+[.)]\s+)?[\s*]*")
_SEPARATORS = " \t-–—:|,;*#"
_TIME_SLOT = re.compile(r"^[\s*•-]*(?P<t1>\d{1,2}[:.]\d{2})\s*[-–]\s*(?P<t2>\d{1,2}[:.]\d{2})[\s*]*(?P<rest>.*)$")
_SPEAKER = re.compile(
    r"(?:^|\bby\s+|\b(?:Moderation|Moderator|Chair|Facilitator)\s*:\s*)\**"
    r"(?P<name>[A-Z][\w'’.-]+(?:\s+(?:[A-Z][\w'’.-]+|de|da|van|von|el|al|le|la|del|di|dos|bin|ben)){1,4})"
    r"\**\s*,\s*(?P<role>.+)$"
)
_MODERATION = re.compile(r"^\W*(?:Moderation|Moderator|Chair|Facilitator)\s*:", re.IGNORECASE)
_PANEL = re.compile(r"^\W*panel\b", re.IGNORECASE)
_TITLE_QUALIFIERS = frozenset(
    [
        "annual",
        "next",
        "final",
        "first",
        "second",
        "third",
        "plenary",
        "general",
        "working",
        "group",
        "thematic",
        "high-level",
        "international",
        "european",
        "national",
        "regional",
        "local",
        "online",
        "joint",
        "kick-off",
        "closing",
        "opening",
        "study",
        "site",
    ]
)
_CONNECTORS = frozenset({"of", "on", "for", "the", "and", "&"})
_MAX_HEADING = 160


@dataclass
class _Event:
    start: int
    end: int
    title: str
    event_type: str | None
    date_fact: Fact
    city: Fact | None = None
    organisers: list[str] = field(default_factory=list)
    agenda: list[dict[str, Any]] = field(default_factory=list)
    parent: str | None = None
    agenda_day: bool = False


def _markup_end(match: re.Match[str] | None) -> int:
    assert match is not None, "_LINE_MARKUP matches the empty string"
    return match.end()


def _clean_title(text: str) -> str:
    text = re.sub(r"\*+|<[^>]*>|[\[\]]", "", text)
    text = text[_markup_end(_LINE_MARKUP.match(text)) :]
    text = re.sub(r"^(?:the|a|an)\s+", "", text.strip(_SEPARATORS), flags=re.IGNORECASE)
    return " ".join(text.split())


def _noun_type(noun: str) -> str:
    """The event type of an event noun: "Sessions" → "session", but "Days" stays "days"."""
    word = noun.lower()
    return word if word == "days" else re.sub(r"s$", "", word)


def _event_type(text: str) -> str | None:
    match = _EVENT_NOUN.search(text)
    return _noun_type(match.group()) if match else None


class _EventFinder:
    """Event finding over one document, given its date, city and organisation facts."""

    def __init__(self, document: Document, dates: list[Fact], cities: list[Fact], orgs: list[Fact]) -> None:
        self.doc = document
        self.text = document.masked
        self.dates = [d for d in dates if d.attributes["precision"] in ("day", "month")]
        self.cities = cities
        self.orgs = orgs
        self._printed: dict[int, int] = {}

    # -- helpers ----------------------------------------------------------------------------------

    def _line(self, offset: int) -> tuple[int, int]:
        return self.doc.line_span(offset)

    def _content_start(self, line_start: int, line_end: int) -> int:
        return _markup_end(_LINE_MARKUP.match(self.text, line_start, line_end))

    def _printed_length(self, line_start: int, line_end: int) -> int:
        """Characters of the line that are not blank (markup is blanked), computed once per line."""
        if line_start not in self._printed:
            self._printed[line_start] = len("".join(self.text[line_start:line_end].split()))
        return self._printed[line_start]

    def _is_heading(self, line_start: int, line_end: int) -> bool:
        if self._printed_length(line_start, line_end) > 2 * _MAX_HEADING:  # a paragraph, or a text on one line
            return False
        line = self.text[line_start:line_end]
        content = _clean_title(line)
        return (
            bool(content)
            and len(content) <= _MAX_HEADING
            and (line.lstrip().startswith(("#", "-", "*")) or not content.endswith((".", "?", "!")))
        )

    def _cities_in(self, start: int, end: int) -> list[Fact]:
        return [city for city in self.cities if start <= city.start and city.end <= end]

    def _nearest_city(self, start: int, end: int, anchor: int) -> Fact | None:
        found = self._cities_in(start, end)
        return min(found, key=lambda city: abs(city.start - anchor)) if found else None

    def _adjacent_line(self, line_start: int, line_end: int, step: int) -> tuple[int, int] | None:
        """The next (step=1) or previous (step=-1) non-blank line."""
        position = line_end + 1 if step > 0 else line_start - 2
        while 0 <= position < len(self.text):
            start, end = self._line(position)
            if self.text[start:end].strip():
                return start, end
            position = end + 1 if step > 0 else start - 2
        return None

    def _title_lines(self, line_start: int, line_end: int) -> Iterator[tuple[int, tuple[int, int]]]:
        """Heading lines that may title a date line: the next one, then up to two before it."""
        for step, reach in ((1, 1), (-1, 2)):
            position = (line_start, line_end)
            for _ in range(reach):
                adjacent = self._adjacent_line(*position, step)
                if (
                    adjacent is None
                    or not self._is_heading(*adjacent)
                    or any(adjacent[0] <= d.start < adjacent[1] for d in self.dates)
                ):
                    break
                yield step, adjacent
                position = adjacent

    def _is_date_line(self, line_start: int, line_end: int, date_fact: Fact) -> bool:
        if self._printed_length(line_start, line_end) > 4 * _MAX_HEADING:  # a paragraph, or a text on one line
            return False
        residue = self.text[line_start : date_fact.start] + " " + self.text[date_fact.end : line_end]
        for city in self._cities_in(line_start, line_end):
            residue = residue.replace(self.text[city.start : city.end], " ")
        residue = re.sub(r"\([^()]*\)|\b(?:in|at|on|the)\b", " ", residue)
        return not re.search(r"[A-Za-z]", residue)

    def _in_organisation(self, start: int, end: int) -> bool:
        return any(org.start <= start and end <= org.end for org in self.orgs)

    def _beside(self, city: Fact, date_fact: Fact) -> bool:
        """Whether ``city`` follows the date on its line, or stands right before it ("Lisbon, 6-7 December")."""
        return city.start >= date_fact.end or bool(_DATE_NEIGHBOUR_GAP.fullmatch(self.text, city.end, date_fact.start))

    def _organisers(self, start: int, end: int) -> list[str]:
        sentence = self.text[start:end]
        names: list[str] = []
        by = _ORGANISED_BY.search(sentence)
        if by:
            window = (start + by.end(), min(end, start + by.end() + 150))
            names = [org.attributes["name"] for org in self.orgs if window[0] <= org.start < window[1]]
            named = _NAMED_AFTER_BY.match(self.text, window[0], window[1])
            if not names and named:
                names = [named.group(1)]  # "hosted by the City of Bergen"
        else:
            verb = _ORGANISING.search(sentence)
            if verb:
                names = [org.attributes["name"] for org in self.orgs if start <= org.start < start + verb.start()]
        return list(dict.fromkeys(names))

    # -- layouts ----------------------------------------------------------------------------------

    def _heading_event(self, date_fact: Fact) -> _Event | None:
        line_start, line_end = self._line(date_fact.start)
        if not self._is_heading(line_start, line_end):
            return None
        content_start = self._content_start(line_start, line_end)
        before = self.text[content_start : date_fact.start]
        after = self.text[date_fact.end : line_end]
        city = self._nearest_city(line_start, line_end, date_fact.end)
        title = _clean_title(before) or _clean_title(after)
        if not re.search(r"[A-Za-z]{2}", title):
            return None
        if city and city.start >= content_start and city.end <= date_fact.start:
            title = _clean_title(re.sub(rf"\s+(?:in|at)\s+{re.escape(city.text)}\s*$", "", title))
        event_type = _event_type(title)
        if event_type is None:
            above = next(
                (
                    (_clean_title(self.text[line[0] : line[1]]), _event_type(self.text[line[0] : line[1]]))
                    for step, line in self._title_lines(line_start, line_end)
                    if step < 0 and _event_type(self.text[line[0] : line[1]])
                ),
                None,
            )
            if above:
                title, event_type = above
            elif not (city and self._beside(city, date_fact)):
                return None
        start = content_start if _clean_title(before) else date_fact.start
        end = date_fact.end if _clean_title(before) else line_end
        return _Event(start, max(end, date_fact.end), title, event_type, date_fact, city)

    def _date_line_event(self, date_fact: Fact) -> _Event | None:
        line_start, line_end = self._line(date_fact.start)
        if not self._is_date_line(line_start, line_end, date_fact):
            return None
        city = self._nearest_city(line_start, line_end, date_fact.end)
        for step, adjacent in self._title_lines(line_start, line_end):
            sentence = self.doc.sentence_span(adjacent[0])
            title_end = max(adjacent[1], sentence[1]) if step > 0 else adjacent[1]
            title_text = self.text[adjacent[0] : title_end]
            event_type = _event_type(title_text)
            if event_type is None:
                continue
            title_start = self._content_start(*adjacent)
            start, end = (date_fact.start, title_end) if step > 0 else (title_start, date_fact.end)
            return _Event(
                start,
                end,
                _clean_title(title_text),
                event_type,
                date_fact,
                city or self._nearest_city(adjacent[0], title_end, adjacent[0]),
                agenda_day=step > 0,
            )
        return None

    def _sentence_event(self, date_fact: Fact, previous_end: int) -> _Event | None:
        start, end = self.doc.sentence_span(date_fact.start)
        sentence = self.text[start:end]
        if _DEADLINE_BEFORE.search(self.text[max(start, date_fact.start - 25) : date_fact.start]):
            return None
        verb = _EVENT_VERB.search(sentence)
        noun = next(
            (
                found
                for found in _EVENT_NOUN.finditer(sentence)
                if verb or not self._in_organisation(start + found.start(), start + found.end())
            ),
            None,
        )  # "the UN General Assembly adopted ..." names an actor, not an event
        if not noun and not verb:
            return None
        city = self._nearest_city(start, end, date_fact.start)
        subject = _MEETING_SUBJECT.search(sentence)
        group = "subject" if subject and subject["subject"] else "named"
        if subject and subject.start(group) < date_fact.start - start:
            title = f"{subject[group]} meeting"
            return _Event(
                start + subject.start(group),
                max(date_fact.end, start + subject.end()),
                title,
                "meeting",
                date_fact,
                city,
                self._organisers(start, end),
            )
        if noun:
            title_start, title_end = self._title_around(start + noun.start(), start + noun.end(), start, end)
            return _Event(
                min(title_start, date_fact.start),
                max(title_end, date_fact.end),
                _clean_title(self.text[title_start:title_end]),
                _noun_type(noun.group()),
                date_fact,
                city,
                self._organisers(start, end),
            )
        if _ANAPHORA.match(sentence):
            prev_start, prev_end = self.doc.sentence_span(max(start - 2, 0))
            prev_noun = _EVENT_NOUN.search(self.text, prev_start, prev_end) if prev_end <= start else None
            if prev_noun and prev_start >= previous_end:
                title_start, title_end = self._title_around(prev_noun.start(), prev_noun.end(), prev_start, prev_end)
                city = city or self._nearest_city(prev_start, prev_end, title_end)
                return _Event(
                    title_start,
                    date_fact.end,
                    _clean_title(self.text[title_start:title_end]),
                    _noun_type(prev_noun.group()),
                    date_fact,
                    city,
                    self._organisers(prev_start, prev_end) or self._organisers(start, end),
                )
        opening = _OPENING_SUBJECT.match(sentence) if verb else None
        if opening:  # "The previous edition, held in Vienna on 9-10 November 2022, ..."
            return _Event(
                start + opening.start("subject"),
                max(date_fact.end, start + opening.end("subject")),
                opening["subject"],
                None,
                date_fact,
                city,
                self._organisers(start, end),
            )
        return None

    def _title_around(self, noun_start: int, noun_end: int, low: int, high: int) -> tuple[int, int]:
        """The event name around an event noun: capitalised words and qualifiers before, "of X" after."""
        words = [(m.start(), m.end(), m.group()) for m in re.finditer(r"[\w&’'-]+", self.text[low:high])]
        words = [(low + s, low + e, w) for s, e, w in words]
        index = next(i for i, (s, _, _) in enumerate(words) if s >= noun_start)
        first = index
        while first > 0:
            word = words[first - 1][2]
            joined = self.text[words[first - 1][1] : words[first][0]] == " "
            if not joined or not (word[0].isupper() or word[0].isdigit() or word.lower() in _TITLE_QUALIFIERS):
                break
            first -= 1
        last = index
        probe = index
        while probe + 1 < len(words) and self.text[words[probe][1] : words[probe + 1][0]] == " ":
            word = words[probe + 1][2]
            if word.lower() in _CONNECTORS:
                probe += 1
            elif word[0].isupper():
                last = probe = probe + 1
            else:
                break
        return words[first][0], max(words[last][1], noun_end)

    # -- agenda -----------------------------------------------------------------------------------

    def _agenda(self, event: _Event, stop: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        panel = False
        position = event.end
        while position < stop:
            line_start, line_end = self._line(position)
            position = line_end + 1
            line = self.doc.text[line_start:line_end]
            if not line.strip():
                continue
            slot = _TIME_SLOT.match(line)
            if slot:
                rest = slot["rest"]
                speaker = _SPEAKER.search(rest)
                title = _clean_title(rest[: speaker.start()] if speaker else rest)
                title = re.sub(r"\s+by$", "", title)
                items.append(
                    {
                        "start_time": slot["t1"].replace(".", ":"),
                        "end_time": slot["t2"].replace(".", ":"),
                        "title": title,
                        "start": line_start,
                        "end": line_end,
                        "speakers": [],
                    }
                )
                panel = False
                if speaker:
                    function = "keynote" if "keynote" in title.lower() else "speaker"
                    items[-1]["speakers"].append(self._speaker(line_start + slot.start("rest"), speaker, function))
                continue
            if not items:
                continue
            items[-1]["end"] = line_end
            if _PANEL.match(line):
                panel = True
                continue
            content_start = self._content_start(line_start, line_end)
            speaker = _SPEAKER.search(self.doc.text[content_start:line_end])
            moderator = bool(_MODERATION.match(line))
            function = "moderator" if moderator else "panellist" if panel else "speaker"
            if speaker:
                items[-1]["speakers"].append(self._speaker(content_start, speaker, function))
            else:
                role = _clean_title(re.sub(r"^\W*(?:Moderation|Moderator|Chair|Facilitator)\s*:", "", line))
                items[-1]["speakers"].append(self._participant(line_start, line_end, role, function))
        return items

    def _speaker(self, base: int, match: re.Match[str], function: str) -> dict[str, Any]:
        start, end = base + match.start("name"), base + match.end("role")
        role = _clean_title(match["role"]).rstrip(".")
        return {
            "name": match["name"],
            "role": role,
            "organisation": self._organisation_in(base + match.start("role"), end),
            "function": function,
            "start": start,
            "end": end,
        }

    def _participant(self, start: int, end: int, role: str, function: str) -> dict[str, Any]:
        return {
            "name": None,
            "role": role,
            "organisation": self._organisation_in(start, end),
            "function": function,
            "start": start,
            "end": end,
        }

    def _organisation_in(self, start: int, end: int) -> str | None:
        return next((org.attributes["name"] for org in self.orgs if start <= org.start and org.end <= end), None)

    # -- assembly ---------------------------------------------------------------------------------

    def find(self) -> list[_Event]:
        events: list[_Event] = []
        for date_fact in self.dates:
            if any(e.start <= date_fact.start < e.end for e in events):
                continue
            event = self._date_line_event(date_fact) or self._heading_event(date_fact)
            if event is None:
                event = self._sentence_event(date_fact, events[-1].end if events else 0)
            if event:
                events.append(event)
        day_starts = [e.date_fact.start for e in events if e.agenda_day] + [len(self.text)]
        for event in events:
            if event.agenda_day:
                stop = min(s for s in day_starts if s > event.date_fact.start)
                event.agenda = self._agenda(event, stop)
        self._link_parents(events)
        return events

    @staticmethod
    def _link_parents(events: list[_Event]) -> None:
        def period(event: _Event) -> tuple[date, date]:
            attributes = event.date_fact.attributes
            return date.fromisoformat(attributes["start_date"]), date.fromisoformat(attributes["end_date"])

        for event in events:
            first, last = period(event)
            parents = [
                other
                for other in events
                if other is not event
                and period(other)[0] <= first
                and last <= period(other)[1]
                and period(other) != (first, last)
            ]
            if parents:
                parent = min(parents, key=lambda other: period(other)[1] - period(other)[0])
                event.parent = parent.title
                event.city = event.city or parent.city


def find_events(document: Document, dates: list[Fact], cities: list[Fact], orgs: list[Fact]) -> list[Fact]:
    """Event facts in ``document``, built on its date, city and organisation facts."""
    facts = []
    for event in _EventFinder(document, dates, cities, orgs).find():
        attributes = event.date_fact.attributes
        facts.append(
            make_fact(
                document,
                "event",
                event.start,
                event.end,
                title=event.title,
                event_type=event.event_type,
                start_date=attributes["start_date"],
                end_date=attributes["end_date"],
                date_precision=attributes["precision"],
                city=event.city.attributes["name"] if event.city else None,
                city_geonames_id=event.city.attributes["geonames_id"] if event.city else None,
                city_country_code=event.city.attributes["country_code"] if event.city else None,
                organiser=event.organisers[0] if event.organisers else None,
                co_organisers=event.organisers[1:],
                parent=event.parent,
                agenda=event.agenda,
            )
        )
    return facts
