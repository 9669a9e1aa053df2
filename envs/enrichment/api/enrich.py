"""The enrichment itself: entities and a category from a document's text.

Deliberately simple rules so the example stays readable; the dictionary
(known organisations, category keywords) lives in Redis and is seeded by
devenv from seed/cache.redis.
"""
import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
AMOUNT = re.compile(r"\b(?:EUR|USD|GBP)\s?\d[\d,]*(?:\.\d{2})?")


def entities(text, orgs):
    """[(kind, value)] found in text: known organisations, e-mail addresses, amounts."""
    lower = text.lower()
    found = [("org", org) for org in sorted(orgs) if org.lower() in lower]
    found += [("email", m) for m in sorted(set(EMAIL.findall(text)))]
    found += [("amount", m) for m in sorted(set(AMOUNT.findall(text)))]
    return found


def category(text, keywords_by_category):
    """The category whose keywords the text mentions most; "other" if none."""
    words = set(re.findall(r"\w+", text.lower()))
    best, best_hits = "other", 0
    for name, keywords in sorted(keywords_by_category.items()):
        hits = len(words & set(keywords.split(",")))
        if hits > best_hits:
            best, best_hits = name, hits
    return best
