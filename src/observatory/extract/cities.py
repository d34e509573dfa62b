"""City mentions: gazetteer matches kept or dropped by capitalisation, stop-lists and context, then resolved.

Decision rules, in order:

* the longest capitalised run of words (joined by spaces, hyphens, ``&``, apostrophes or ``.``) whose
  key is in the gazetteer is a candidate; runs in capitals only count for large cities' main names;
* words in ``non_city_words.yml: never``, country names and names inside an organisation or programme
  name are dropped;
* a name in a person context is dropped: after a title ("Mayor Paris") or a given name ("Luisa Santos"),
  before a surname-like word ("Aden Bouassida"), before a speech verb ("Paris Smith said"), or after
  "a person called";
* a name that is also an ordinary word (Nice, Reading, Bath, Split, Mobile, Sale; or any word that the
  same document also writes in lower case, whatever its language: Kosten/kosten; in a text that is not
  English, a foreign spelling opening a sentence: Verder for Werder) or, for a city under
  300 000 inhabitants, a given name (Helena) needs a place cue: "in/at/from X", "<date>, X", "city/Mayor
  of X", "X, <country>", "X City Council", or a neighbour in a list of cities; a town under 15 000
  inhabitants needs a strong cue (not "in X");
* "Mayor/City of X" where X is in no gazetteer still gives an (unresolved) city.

Dutch names with the article 's- ("’s-Gravenhage", "'s-Hertogenbosch") are matched with it; a possessive
"'s" is not part of the name ("Riga’s", "Helsinki's" → Riga, Helsinki) unless the name has it ("St. John's").
A name in capitals also counts outside a heading as a dateline's place: right after a date, even glued to
its year ("Aug 25th 2020BERLIN"), or opening a line before a dash or comma ("BERLIN — ...").

Homonyms resolve by context country (", Tunisia", or a country named in the sentence), then Europe,
then population and how exactly the spelling matched.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from observatory.extract.document import Document
from observatory.extract.facts import Fact, make_fact, overlaps
from observatory.extract.gazetteer import City, Gazetteer, NameEntry, load_gazetteer, name_key
from observatory.extract.language import detect_language
from observatory.extract.resources import (
    MONTH_WORDS,
    english_words,
    first_names,
    load_yaml,
)

MAX_TOKENS = 6
LARGE_CITY = 300_000  # below this, a city named like a person needs a place cue
MINOR_TOWN = 15_000  # below this, a town needs a strong place cue
ALL_CAPS_MIN_POPULATION = 100_000
EUROPE_BONUS = 2.0  # a European city wins against one up to 100 times larger elsewhere
DOCUMENT_COUNTRY_BONUS = 0.5  # countries of the document's unambiguous cities: breaks near-ties
SENTENCE_COUNTRY_BONUS = 4.0  # countries named in the sentence or right after the name
CONFIDENT_MARGIN = 2.0

_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_POSSESSIVE = ("'s", "’s", "'S", "’S")  # "Riga’s", "Helsinki's": the name is the token without it
_DATELINE_AFTER = re.compile(r"\s*[—–]|\s+-\s|,")  # used with .match(text, end)
_GAP = re.compile(r" ?[-–&] ?|\.? ?|['’]")
_PARTICLES = frozenset(
    [
        "de",
        "del",
        "della",
        "dei",
        "der",
        "des",
        "di",
        "da",
        "do",
        "dos",
        "das",
        "du",
        "la",
        "le",
        "les",
        "los",
        "las",
        "lo",
        "el",
        "en",
        "am",
        "an",
        "im",
        "upon",
        "on",
        "sur",
        "sous",
        "sul",
        "y",
        "i",
        "e",
        "and",
        "of",
        "the",
        "zum",
        "zur",
        "bei",
        "ob",
        "op",
        "aan",
        "ter",
    ]
)
_STRONG_BEFORE = re.compile(
    r"\b(?:city|town|village|municipality|mayor|mayors|capital|commune|metropolis|suburbs?|outskirts|"
    r"university|people|residents|inhabitants|citizens|port)\s+of\s+(?:the\s+)?"
    r"(?:(?:city|town|municipality)\s+of\s+)?$"
    r"|\b(?:city|town|village)\s+(?:called|named)\s+$",
    re.IGNORECASE,
)
_WEAK_BEFORE = re.compile(r"\b(?:in|at|from|near|visit(?:ed|ing|s)?)\s+$", re.IGNORECASE)
_STRONG_AFTER = re.compile(
    r"^(?:\s+(?:City|Town|Municipality|Council|City\s+Council|City\s+Hall|Metropolitan)\b|-based\b)"
)
_COUNTRY_AFTER = re.compile(r"^\s*[,(]\s*([A-Z][\w.'’-]*(?:\s+(?:of\s+|and\s+)?[A-Z][\w.'’-]*){0,3})")
_DATE_GAP = re.compile(r"^\s*[,–—-]\s*$")
_LIST_GAP = re.compile(r"^\s*(?:,\s*(?:and\s+|or\s+)?|and\s+|or\s+|&\s*|/\s*)$")
_UNRESOLVED = re.compile(
    r"\b(?:[Mm]ayor|[Cc]ity|[Tt]own|[Mm]unicipality)\s+of\s+(?:the\s+(?:[Cc]ity|[Tt]own)\s+of\s+)?"
    r"(?P<name>[A-Z][^\W\d_]+(?:[- ][A-Z][^\W\d_]+){0,2})(?![\w-])"
)


@dataclass(frozen=True)
class _Lexicon:
    never: frozenset[str]
    needs_context: frozenset[str]
    word_cities: frozenset[str]
    person_titles: frozenset[str]
    speech_verbs: re.Pattern[str]
    called: re.Pattern[str]
    place_words: frozenset[str]
    name_followers: frozenset[str]


@lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    stop = load_yaml("non_city_words.yml")
    cues = load_yaml("city_cues.yml")
    verbs = "|".join(cues["speech_verbs"])
    nouns = "|".join(cues["person_nouns"])
    return _Lexicon(
        never=frozenset(name_key(word) for word in stop["never"]),
        needs_context=frozenset(name_key(word) for word in stop["needs_context"]),
        word_cities=frozenset(name_key(word) for word in stop["word_cities"]),
        person_titles=frozenset(cues["person_titles"]),
        speech_verbs=re.compile(rf"^(?P<surname>\s+[A-Z][\w'’-]+)?,?\s+(?:{verbs})\b"),
        called=re.compile(rf"\b(?:{nouns})\s+(?:called|named)\s+$", re.IGNORECASE),
        place_words=frozenset(name_key(word) for word in cues["place_words"]),
        name_followers=frozenset(name_key(word) for word in cues["name_followers"]),
    )


@dataclass
class _Candidate:
    start: int
    end: int
    first: int  # token indices
    last: int
    key: str
    entries: list[NameEntry]
    all_caps: bool


class _Finder:
    """City finding over one document."""

    def __init__(self, document: Document, blocked: list[tuple[int, int]], dates: Sequence[tuple[int, int]]) -> None:
        self.doc = document
        self.text = document.masked
        self.blocked = blocked
        self.dates = dates
        self.date_ends = frozenset(end for _, end in dates)
        self.gaz: Gazetteer = load_gazetteer()
        self.lex = _lexicon()
        self.tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(self.text)]
        self.gap_ok = [
            bool(_GAP.fullmatch(self.text[a_end:b_start])) for (_, a_end), (b_start, _) in pairwise(self.tokens)
        ]
        self.countries = self._country_mentions()
        self.english = detect_language(document.text) in ("en", None)
        self.lower_case_words = frozenset(
            name_key(self.text[start:end]) for start, end in self.tokens if self.text[start].islower()
        )

    # -- candidates -------------------------------------------------------------------------------

    def _word(self, index: int) -> str:
        start, end = self.tokens[index]
        return self.text[start:end]

    def _capitalisation(self, first: int, last: int) -> str | None:
        words = [self._word(i) for i in range(first, last + 1)]
        if all(word.isupper() for word in words):
            return "caps" if sum(map(len, words)) >= 4 else None
        if not words[0][0].isupper():
            return None
        if all(word[0].isupper() or word.lower() in _PARTICLES for word in words[1:]):
            return "title"
        return None

    def _country_mentions(self) -> list[tuple[int, int, str]]:
        mentions = []
        index = 0
        while index < len(self.tokens):
            found: tuple[int, int, str] | None = None
            if self._word(index)[0].isupper():
                last = index
                while last + 1 < len(self.tokens) and last - index < 3 and self.gap_ok[last]:
                    last += 1
                for end in range(last, index - 1, -1):
                    for stop in self._stops(end):
                        code = self.gaz.country_code(self.text[self.tokens[index][0] : stop])
                        if code:
                            found = (end, stop, code)
                            break
                    if found:
                        break
            if found:
                mentions.append((self.tokens[index][0], found[1], found[2]))
                index = found[0] + 1
            else:
                index += 1
        return mentions

    def candidates(self) -> list[_Candidate]:
        found = []
        index = 0
        while index < len(self.tokens):
            match = self._match_at(index)
            if match:
                found.append(match)
                index = match.last + 1
            else:
                index += 1
        return found

    def _stops(self, index: int) -> tuple[int, ...]:
        """Where a name ending with token ``index`` may end: the token's end, or before its possessive."""
        start, end = self.tokens[index]
        if end - start > 2 and self.text.endswith(_POSSESSIVE, start, end):
            return end, end - 2
        return (end,)

    def _glued(self, start: int, end: int) -> bool:
        """Whether the span touches a digit or underscore ("Jinja2", "Lyon_2"), except a date's year glued
        before it (a dateline that lost its line break: "Aug 25th 2020BERLIN")."""
        before = self.text[start - 1 : start]
        after = self.text[end : end + 1]
        if before.isdigit() and self._after_date(start, ""):
            before = ""
        return any(ch.isdigit() or ch == "_" for ch in before + after)

    def _after_date(self, start: int, gaps: str = " \t\n") -> bool:
        """Whether a date ends right before ``start``, with only characters of ``gaps`` in between."""
        position = start
        while position not in self.date_ends and position > 0 and self.text[position - 1] in gaps:
            position -= 1
        return position in self.date_ends

    def _dateline(self, start: int, end: int) -> bool:
        """Whether the span is a dateline's place: right after a date ("Aug 25th 2020BERLIN", "3 May 2021
        PARIS"), or opening its line before a dash or comma ("BERLIN — ...", "LONDON, 3 May")."""
        if self._after_date(start):
            return True
        return not self.text[self.text.rfind("\n", 0, start) + 1 : start].strip() and bool(
            _DATELINE_AFTER.match(self.text, end)
        )

    def _caps_line(self, offset: int) -> bool:
        """Whether the line around ``offset`` is written in capitals (a heading), not mixed case."""
        line_start = self.text.rfind("\n", 0, offset) + 1
        line_end = self.text.find("\n", offset)
        line = self.text[line_start : line_end if line_end >= 0 else len(self.text)]
        return not any(ch.islower() for ch in line)

    def _dutch_article(self, index: int) -> bool:
        """Whether token ``index`` is the "s" of a Dutch name such as "’s-Gravenhage"."""
        start, end = self.tokens[index]
        return (
            self.text[start:end] == "s"
            and self.text[start - 1 : start] in ("'", "’", "‘")
            and self.text[end : end + 1] == "-"
            and index + 1 < len(self.tokens)
            and self._word(index + 1)[0].isupper()
        )

    def _match_at(self, first: int) -> _Candidate | None:
        article = self._dutch_article(first)
        if not (self._word(first)[0].isupper() or article):
            return None
        last = first
        while last + 1 < len(self.tokens) and last - first + 1 < MAX_TOKENS and self.gap_ok[last]:
            last += 1
        for end in range(last, first + article - 1, -1):
            start = self.tokens[first][0] - article
            for stop in self._stops(end):
                entries = self.gaz.lookup(name_key(self.text[start:stop]))
                if not entries:
                    continue
                style = self._capitalisation(first + article, end)
                if (
                    style is None
                    or self._glued(start, stop)
                    or (style == "caps" and not (self._caps_line(start) or self._dateline(start, stop)))
                ):
                    continue
                key = name_key(self.text[start:stop])
                return _Candidate(start, stop, first, end, key, entries, style == "caps")
        return None

    # -- context ----------------------------------------------------------------------------------

    def _line_before(self, offset: int, width: int = 80) -> str:
        chunk = self.text[max(0, offset - width) : offset]
        return chunk[chunk.rfind("\n") + 1 :]

    def _line_after(self, offset: int, width: int = 80) -> str:
        chunk = self.text[offset : offset + width]
        cut = chunk.find("\n")
        return chunk if cut < 0 else chunk[:cut]

    def _previous_word(self, cand: _Candidate) -> str | None:
        if cand.first == 0:
            return None
        gap = self.text[self.tokens[cand.first - 1][1] : cand.start]
        word = self._word(cand.first - 1)
        if gap == " " or (gap == ". " and word in self.lex.person_titles):
            return word
        return None

    def _next_word(self, cand: _Candidate, gaps: tuple[str, ...] = (" ",)) -> str | None:
        if cand.last + 1 >= len(self.tokens):
            return None
        if self.text[cand.end : self.tokens[cand.last + 1][0]] not in gaps:
            return None
        return self._word(cand.last + 1)

    def _surname_like(self, word: str) -> bool:
        if not word[0].isupper() or word.isupper():
            return False
        lower = word.lower()
        key = name_key(word)
        return not (
            lower in english_words()
            or lower in MONTH_WORDS
            or key in self.lex.place_words
            or self.gaz.lookup(key)
            or self.gaz.country_code(word)
        )

    def _given_name_before(self, cand: _Candidate, following: str) -> bool:
        """Whether ``cand`` is a given name before a surname ("Florence Nightingale", "Paris Hilton")."""
        key = name_key(following)
        return (
            cand.key in first_names()
            and following[0].isupper()
            and not following.isupper()
            and key not in self.lex.name_followers
            and key not in self.lex.place_words
            and not self.gaz.country_code(following)
        )

    def is_person(self, cand: _Candidate) -> bool:
        previous = self._previous_word(cand)
        if (
            previous
            and previous[0].isupper()
            and (
                previous in self.lex.person_titles
                or name_key(previous) in first_names()
                or self._surname_like(previous)
            )
        ):
            return True
        following = None if cand.all_caps else self._next_word(cand, (" ", "-"))  # "PARIS The council met"
        if following and (self._surname_like(following) or self._given_name_before(cand, following)):
            return True
        speech = self.lex.speech_verbs.match(self._line_after(cand.end))
        if speech and (speech["surname"] or cand.key in first_names()):
            return True
        return bool(self.lex.called.search(self._line_before(cand.start)))

    def country_after(self, cand: _Candidate) -> str | None:
        match = _COUNTRY_AFTER.match(self._line_after(cand.end))
        if not match:
            return None
        words = match.group(1).split()
        for size in range(len(words), 0, -1):
            code = self.gaz.country_code(" ".join(words[:size]))
            if code:
                return code
        return None

    def strong_cue(self, cand: _Candidate) -> bool:
        return bool(
            _STRONG_BEFORE.search(self._line_before(cand.start))
            or _STRONG_AFTER.match(self._line_after(cand.end))
            or self.country_after(cand)
        )

    def weak_cue(self, cand: _Candidate) -> bool:
        """ "in/at/from X", or X next to a date ("1-5 July 2024, Reading")."""
        return bool(_WEAK_BEFORE.search(self._line_before(cand.start))) or any(
            _DATE_GAP.match(self.text[end : cand.start])
            if end <= cand.start
            else _DATE_GAP.match(self.text[cand.end : start])
            for start, end in self.dates
            if end <= cand.start <= end + 3 or cand.end <= start <= cand.end + 3
        )

    def sentence_countries(self, offset: int) -> set[str]:
        start, end = self.doc.sentence_span(offset)
        return {code for s, e, code in self.countries if start <= s and e <= end}

    # -- resolution -------------------------------------------------------------------------------

    def resolve(self, cand: _Candidate, document_countries: frozenset[str] = frozenset()) -> tuple[City, float]:
        """The best city for ``cand`` and its score margin over the runner-up."""
        spelled = " ".join(self.doc.text[cand.start : cand.end].replace("-", " ").split()).casefold()
        named = self.country_after(cand)
        context = {named} if named else self.sentence_countries(cand.start)
        best: dict[int, tuple[float, City]] = {}
        for entry in cand.entries:
            city = entry.city
            form = " ".join(entry.form.replace("-", " ").split()).casefold()
            exact = form == spelled
            quality = (2.0 if exact else 1.2) if entry.primary else (0.5 if exact else 0.2)
            in_context = city.country_code in context or f"US:{city.admin1}" in context
            score = (
                math.log10(city.population + 10)
                + EUROPE_BONUS * city.european
                + quality
                + SENTENCE_COUNTRY_BONUS * in_context
                + DOCUMENT_COUNTRY_BONUS * (city.country_code in document_countries)
            )
            if city.geonames_id not in best or score > best[city.geonames_id][0]:
                best[city.geonames_id] = (score, city)
        ranked = sorted(best.values(), key=lambda pair: (pair[0], pair[1].population), reverse=True)
        margin = ranked[0][0] - ranked[1][0] if len(ranked) > 1 else math.inf
        return ranked[0][1], margin

    # -- decision ---------------------------------------------------------------------------------

    def _opens_sentence(self, cand: _Candidate) -> bool:
        """Whether ``cand`` is the first word of a sentence that goes on ("Verder worden ...")."""
        sentence_start, sentence_end = self.doc.sentence_span(cand.start)
        return not re.search(r"[^\W\d_]", self.text[sentence_start : cand.start]) and bool(
            re.search(r"[^\W\d_]", self.text[cand.end : sentence_end])
        )

    def ordinary(self, cand: _Candidate, city: City) -> bool:
        """Whether the name is also an ordinary word or given name (and so needs a place cue)."""
        if cand.key in self.lex.needs_context:
            return True
        if english_words().issuperset(cand.key.split()):
            return cand.key not in self.lex.word_cities
        if self.lower_case_words.issuperset(cand.key.split()):
            return True
        if not self.english and not any(entry.primary for entry in cand.entries) and self._opens_sentence(cand):
            return True
        return cand.key in first_names() and city.population < LARGE_CITY

    def find(self) -> list[Fact]:
        accepted: list[tuple[_Candidate, City]] = []
        pending: list[tuple[_Candidate, City]] = []
        for cand in self.candidates():
            if (
                cand.key in self.lex.never
                or overlaps(cand.start, cand.end, self.blocked)
                or (self.gaz.country_code(self.text[cand.start : cand.end]) and not self.strong_cue(cand))
            ):
                continue
            city, _ = self.resolve(cand)
            if cand.all_caps and (
                city.population < ALL_CAPS_MIN_POPULATION
                or not any(entry.primary for entry in cand.entries)
                or english_words().issuperset(cand.key.split())
            ):
                continue
            strong = self.strong_cue(cand)
            if self.is_person(cand) and not _STRONG_BEFORE.search(self._line_before(cand.start)):
                continue
            if city.population < MINOR_TOWN:
                if strong:
                    accepted.append((cand, city))
            elif not self.ordinary(cand, city) or strong or self.weak_cue(cand):
                accepted.append((cand, city))
            else:
                pending.append((cand, city))
        accepted.extend(self._listed_with_cities(accepted, pending))
        document_countries = frozenset(
            city.country_code for cand, city in accepted if self.resolve(cand)[1] >= CONFIDENT_MARGIN
        )
        facts = [self._fact(cand, self.resolve(cand, document_countries)[0]) for cand, _ in accepted]
        facts.extend(self._unresolved(facts))
        return sorted(facts, key=lambda fact: fact.start)

    def _listed_with_cities(
        self, accepted: list[tuple[_Candidate, City]], pending: list[tuple[_Candidate, City]]
    ) -> list[tuple[_Candidate, City]]:
        """Pending names standing in a list next to accepted cities ("Nice, Lyon and Paris")."""
        spans = [(cand.start, cand.end) for cand, _ in accepted]
        added: list[tuple[_Candidate, City]] = []
        changed = True
        while changed:
            changed = False
            for item in list(pending):
                cand = item[0]
                if any(
                    _LIST_GAP.match(self.text[end : cand.start]) or _LIST_GAP.match(self.text[cand.end : start])
                    for start, end in spans
                    if (end <= cand.start and cand.start - end <= 8) or (cand.end <= start and start - cand.end <= 8)
                ):
                    pending.remove(item)
                    added.append(item)
                    spans.append((cand.start, cand.end))
                    changed = True
        return added

    def _fact(self, cand: _Candidate, city: City) -> Fact:
        return make_fact(
            self.doc,
            "city",
            cand.start,
            cand.end,
            name=city.name,
            country_code=city.country_code,
            geonames_id=city.geonames_id,
            resolved=True,
        )

    def _unresolved(self, found: list[Fact]) -> list[Fact]:
        """ "Mayor of X" / "city of X" where X is not in the gazetteer."""
        spans = [(fact.start, fact.end) for fact in found] + self.blocked
        facts = []
        for match in _UNRESOLVED.finditer(self.text):
            start, end = match.span("name")
            name = match.group("name")
            words = re.split(r"[- ]", name)
            if overlaps(start, end, spans) or any(
                word.lower() in english_words()
                or name_key(word) in self.lex.never
                or name_key(word) in self.lex.place_words
                or self.gaz.country_code(word)
                for word in words
            ):
                continue
            facts.append(
                make_fact(
                    self.doc,
                    "city",
                    start,
                    end,
                    name=self.doc.text[start:end],
                    country_code=None,
                    geonames_id=None,
                    resolved=False,
                )
            )
        return facts


def find_cities(
    document: Document, blocked: list[tuple[int, int]], dates: Sequence[tuple[int, int]] = ()
) -> list[Fact]:
    """City facts in ``document``; ``blocked`` spans (organisation and programme names) are skipped,
    ``dates`` spans (of date facts) are place cues for a name right before or after them."""
    return _Finder(document, blocked, dates).find()
