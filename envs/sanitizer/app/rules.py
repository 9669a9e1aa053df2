"""The sanitizing rules, kept apart from the plumbing so they are easy to read and test."""
import re

CALLING_CODES = {"US": "1", "GB": "44", "DE": "49", "AT": "43", "NL": "31", "FI": "358"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"\+?\d[\d ().-]{5,}\d")


def name(value):
    """'  ada LOVELACE ' -> 'Ada Lovelace'."""
    return " ".join(part[:1].upper() + part[1:].lower() for part in (value or "").split()) or None


def email(value):
    """Trimmed and lower-cased; None when empty."""
    return (value or "").strip().lower() or None


def country(value, aliases):
    """'U.K.' -> 'GB' through the alias table; None when unknown."""
    return aliases.get((value or "").strip().lower())


def phone(value, country_code):
    """Digits in international form: '020 7946 0018' (GB) -> '+442079460018'."""
    raw = (value or "").strip()
    digits = re.sub(r"\D", "", raw)
    if not digits:
        return None
    if raw.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    code = CALLING_CODES.get(country_code or "")
    if code == "1" and len(digits) == 10:
        return "+1" + digits
    if code and digits.startswith("0"):
        return "+" + code + digits[1:]
    return "+" + digits if code is None else "+" + code + digits


def mask_email(value, keep_domain=True):
    """'ada.lovelace@example.com' -> 'a***@example.com' (or '***' without the domain)."""
    if not value or "@" not in value:
        return value
    local, domain = value.split("@", 1)
    return f"{local[:1]}***@{domain}" if keep_domain else "***"


def mask_phone(value):
    """'+442079460018' -> '+**********18'."""
    if not value:
        return value
    return "+" + "*" * (len(value) - 3) + value[-2:]


def scrub(text):
    """E-mail addresses and phone numbers in free text -> [email] / [phone]."""
    if not text:
        return text
    return PHONE.sub("[phone]", EMAIL.sub("[email]", text))
