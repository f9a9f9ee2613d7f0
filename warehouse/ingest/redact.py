"""Redaction at ingestion: personal data in URLs and IP addresses never reaches the raw store.

Applied by the raw-store writes themselves (warehouse/ingest/sql.py: events_insert and
sessions_upsert), so every endpoint, and every old snippet, goes through it. Per environment
(docs/privacy.md):

- URL query parameters are dropped from `query`, `referrer`, `hash` and `href` (and URL-valued
  attributes of the element hierarchy) of events and from `referrer`, `landing_page_query` and
  `landing_page_hash` of sessions, when one of the environment's redacted names is a whole word
  of the parameter's name (`email` drops `email`, `newsletter_email`, `user[email]`, `userEmail`),
  and, unless turned off, when the value looks like an email address. What remains is kept as
  it was written (no re-encoding), so definitions matching URLs keep working.
- The IP address is kept, truncated (IPv4 /24, IPv6 /48) or dropped; the GeoIP lookup
  (warehouse/ingest/enrich.py) has already seen the full address.
"""

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote_plus

from warehouse.models import Environment, IpMode

# Hierarchy attributes holding URLs, whose query parameters are redacted like `href`.
URL_ATTRIBUTES = frozenset({"href", "xlink:href", "src", "action", "formaction", "poster", "cite", "data"})
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_EMAIL = re.compile(r"[^@\s/?&=:]+@[^@\s/?&=:]+\.[A-Za-z]{2,}")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD = re.compile(r"[a-z0-9]+")


def name_words(name: str) -> tuple[str, ...]:
    """The words of a parameter name: split at camelCase and at anything not a letter or digit."""
    return tuple(_WORD.findall(_CAMEL.sub(r"\1 \2", name).lower()))


@dataclass(frozen=True)
class PrivacyPolicy:
    redacted: tuple[tuple[str, ...], ...]  # the redacted names, as words
    redact_email_values: bool
    ip_mode: str

    @property
    def redacts_urls(self) -> bool:
        return bool(self.redacted) or self.redact_email_values


def policy_for(environment: Environment) -> PrivacyPolicy:
    return _policy(tuple(environment.redacted_query_params or ()), environment.redact_email_values, environment.ip_mode)


@lru_cache(maxsize=256)
def _policy(names: tuple[str, ...], redact_email_values: bool, ip_mode: str) -> PrivacyPolicy:
    redacted = tuple(sorted({words for words in map(name_words, names) if words}))
    return PrivacyPolicy(redacted=redacted, redact_email_values=redact_email_values, ip_mode=ip_mode)


@lru_cache(maxsize=16384)
def _name_redacted(raw_name: str, redacted: tuple[tuple[str, ...], ...]) -> bool:
    words = name_words(unquote_plus(raw_name))
    for entry in redacted:
        size = len(entry)
        if any(words[start : start + size] == entry for start in range(len(words) - size + 1)):
            return True
    return False


# URL-decodings tried on a value: a login redirect wraps a URL whose own query was encoded, so an
# email in it arrives encoded twice (`next=…%3Femail%3Dalice%2540example.com`).
_DECODINGS = 3


def _value_is_email(raw_value: str) -> bool:
    value = raw_value
    for _ in range(_DECODINGS):
        if "@" not in value and "%" not in value:
            return False
        value = unquote_plus(value)
        if "@" in value and _EMAIL.search(value):
            return True
    return False


def redact_params(query: str, policy: PrivacyPolicy) -> str:
    """A query string (without `?`) minus its redacted parameters; the others exactly as written."""
    kept = []
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if policy.redacted and _name_redacted(name, policy.redacted):
            continue
        if policy.redact_email_values and _value_is_email(value):
            continue
        kept.append(part)
    return "&".join(kept)


def redact_url(text: str, policy: PrivacyPolicy) -> str:
    """A URL, or a part of one (`?query`, `#hash`, a relative href), minus its redacted parameters.

    The query is what follows `?`; in the fragment, what follows a `?` (`#/route?email=…`) or, with
    no `?`, the whole fragment when it has parameters (`#access_token=…`, as OAuth sends).
    """
    if not text or "=" not in text or not policy.redacts_urls:
        return text
    base, hash_mark, fragment = text.partition("#")
    path, question_mark, query = base.partition("?")
    if question_mark:
        query = redact_params(query, policy)
    if hash_mark:
        head, inner_mark, inner = fragment.partition("?")
        if inner_mark:
            inner = redact_params(inner, policy)
            fragment = head + ("?" + inner if inner else "")
        elif "=" in fragment:
            fragment = redact_params(fragment, policy)
    return path + ("?" + query if query else "") + ("#" + fragment if fragment else "")


def redact_event_rows(rows: list[dict], policy: PrivacyPolicy) -> None:
    """Redact URL parts of event rows (as events_insert takes them) in place."""
    if not policy.redacts_urls:
        return
    for row in rows:
        for field in ("query", "referrer", "hash", "target_href"):
            value = row.get(field)
            if value and "=" in value:
                row[field] = redact_url(value, policy)
        for element in row.get("hierarchy") or ():
            attrs = element.get("attrs")
            if not attrs:
                continue
            for name in URL_ATTRIBUTES.intersection(attrs):
                attrs[name] = redact_url(attrs[name], policy)


def redact_session_rows(rows: list[dict], policy: PrivacyPolicy) -> None:
    """Redact session rows (as sessions_upsert takes them) in place: URL parts, utm fields, IP."""
    for row in rows:
        if policy.redacts_urls:
            for field in ("referrer", "landing_page_query", "landing_page_hash"):
                value = row.get(field)
                if value and "=" in value:
                    row[field] = redact_url(value, policy)
            for field in UTM_FIELDS:
                if row.get(field) and policy.redacted and _name_redacted(field, policy.redacted):
                    row[field] = ""
        if row.get("ip"):
            row["ip"] = ip_for_storage(row["ip"], policy.ip_mode)


def ip_for_storage(ip: str | None, mode: str) -> str | None:
    """The address as the environment stores it: whole, truncated (IPv4 /24, IPv6 /48), or None."""
    if not ip or mode == IpMode.NONE:
        return None
    if mode == IpMode.FULL:
        return ip
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:  # ::ffff:a.b.c.d, as dual-stack servers report IPv4
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)
