"""The language of a text from its commonest function words: reliable for documents, not for snippets."""

from __future__ import annotations

import re
from collections import Counter

# The commonest function words of each language (ISO 639-1) that documents in the observatory come in.
FUNCTION_WORDS = {
    language: frozenset(words.split())
    for language, words in {
        "en": "the and of to is that for with are on this be by from will have which",
        "nl": "de het een van en is dat op voor met zijn niet worden wordt door deze bij",
        "de": "der die das und ist nicht mit den von zu für auf dem des eine wird sich",
        "fr": "le la les des et est une du pour dans que qui sur pas par au",
        "es": "el la los las y es que por para con una del se al como",
        "it": "il di che è per con del della sono non una gli nel alla",
        "pt": "o os as que do da em para com uma não são dos das",
    }.items()
}
MIN_HITS = 5  # fewer function words than this: too little text to tell
_WORD = re.compile(r"[^\W\d_]+")


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the language whose function words are clearly the commonest in ``text``, else None."""
    words = Counter(word.lower() for word in _WORD.findall(text[:20_000]))
    hits = sorted(
        ((sum(words[word] for word in vocabulary), language) for language, vocabulary in FUNCTION_WORDS.items()),
        reverse=True,
    )
    (best, language), (runner_up, _) = hits[0], hits[1]
    return language if best >= MIN_HITS and best >= 1.5 * runner_up else None
