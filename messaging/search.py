"""Searching the message log: text of two characters or more, or an exact OpenID or MsgId.

On PostgreSQL the text part is served by a GIN index over the character bigrams of each
message's content and reply (migration 0006, function `messaging_search_bigrams`): a term's
bigrams must all be in a row's bigrams, then `icontains` confirms the candidate rows. Bigrams,
not pg_trgm's trigrams, because most Chinese words are two characters (营业, 退款), and a
two-character LIKE pattern gives pg_trgm no trigram to look up, so it reads the whole index.
An OpenID or MsgId is matched exactly through the (account, openid, …) and
(account, dedupe_key, …) indexes, probed once per account the user may see; a term shaped like
a real OpenID ("o" + 27 characters) or a 64-bit MsgId (16 digits or more) is looked up as
that only, not as text.

The confirming match is written as one `strpos(lower(content ␟ reply), lower(term)) > 0`,
not `UPPER(content) LIKE … OR UPPER(reply) LIKE …`: PostgreSQL estimates the LIKE pair as
matching almost nothing on top of the bigram condition (it cannot know they agree), so for
a common word (营业 in 3% of messages) it chose to fetch and sort every match (~1 s at
2,000,000 rows) instead of walking the newest messages until a page is full (~20 ms).
It also misjudges the rest: for a term of three characters or more it multiplies the
bigrams' frequencies as if they were independent and expects a handful of rows, and within
an Operator's accounts it weighs the bigram function's cost on every row walked. So one
look at the statistics ANALYZE keeps for the index tells whether the term probably has
COMMON_MATCHES matches: a common term is then searched by the walk alone (no index
condition, no bigram function per row), a rare one through the index (about
COMMON_MATCHES rows at most fetched and sorted).

Several terms are decided by one bounded probe through the index instead (statistics
multiplied assume an independence words do not have): it fetches the keys (id, sent_at)
of at most COMMON_MATCHES candidates. As many as that: the walk. Fewer: the probe found
every candidate, and the page is those rows by primary key (`id = ANY(…)`, with the
candidates' `sent_at` range so that PostgreSQL skips the months without one) — the GIN
index is read once per request, not again for the page (issue 30, "hello 777" at
20,000,000 rows). A row written between the probe and the page is not shown until the
next request.

On SQLite (`make run`) the same rules run as plain substring matching without an index.
"""

from __future__ import annotations

import datetime
import itertools
import re

from django.db.models import BigIntegerField, F, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import Concat, Lower, StrIndex
from django.db.models.lookups import GreaterThan, Lookup
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext as _

from core.domain_errors import DomainError

#: bigrams need two characters; a one-character term would have to read every row
MIN_TEXT_TERM_LENGTH = 2
MAX_TERM_LENGTH = 100
MAX_TERMS = 5
#: from this many matches, walking the newest rows beats fetching and sorting every match
COMMON_MATCHES = 2000
#: WeChat OpenIDs are 28 characters of this alphabet; shorter ones occur in the sandbox
OPENID_RE = re.compile(r"^[A-Za-z0-9_-]{6,64}\Z")
REAL_OPENID_RE = re.compile(r"^o[A-Za-z0-9_-]{27}\Z")
MSG_ID_RE = re.compile(r"^[0-9]{1,19}\Z")
REAL_MSG_ID_RE = re.compile(r"^[0-9]{16,19}\Z")
#: joins content and reply for the confirming match; never part of a search term
SEPARATOR = "\x1f"
MSG_ID_MAX = 2**63 - 1


class SearchError(DomainError, ValueError):
    """A search the log cannot run quickly; the message says what to type instead."""


def search_terms(search: str) -> list[str]:
    """The terms of a search box entry, quoted phrases kept together (as Django's admin does)."""
    terms = []
    for bit in smart_split(search):
        if bit[:1] in "\"'" and bit[-1:] == bit[:1] and len(bit) > 1:
            bit = unescape_string_literal(bit)
        bit = bit.strip()
        if bit:
            terms.append(bit)
    if len(terms) > MAX_TERMS:
        raise SearchError(_("Search for at most %(count)d words at a time.") % {"count": MAX_TERMS})
    for term in terms:
        if len(term) > MAX_TERM_LENGTH:
            raise SearchError(
                _("A search word can be at most %(count)d characters long.") % {"count": MAX_TERM_LENGTH}
            )
        if len(term) < MIN_TEXT_TERM_LENGTH and not MSG_ID_RE.match(term):
            raise SearchError(
                _("Search for at least two characters (for example 营业), an OpenID or a MsgId.")
            )
    return terms


class SearchBigrams(Func):
    """`messaging_search_bigrams(content, reply)`, the indexed expression (PostgreSQL only)."""

    function = "messaging_search_bigrams"

    def __init__(self, content, reply, **extra):
        from django.contrib.postgres.fields import ArrayField

        super().__init__(content, reply, output_field=ArrayField(TextField()), **extra)


def _is_text(term: str) -> bool:
    return (
        len(term) >= MIN_TEXT_TERM_LENGTH
        and not REAL_OPENID_RE.match(term)
        and not REAL_MSG_ID_RE.match(term)
    )


def _is_openid(term: str) -> bool:
    return bool(OPENID_RE.match(term)) and not term.isdigit()


def _is_msg_id(term: str) -> bool:
    return bool(MSG_ID_RE.match(term)) and int(term) <= MSG_ID_MAX


def _exact_match(term: str, *, postgres: bool) -> Q:
    """What a term matches: the text of the message or reply, the OpenID, or the MsgId."""
    match = Q()
    if _is_text(term):
        if postgres:
            text = Concat(F("content"), Value(SEPARATOR), F("reply_summary"), output_field=TextField())
            match |= Q(GreaterThan(StrIndex(Lower(text), Lower(Value(term))), 0))
        else:
            match |= Q(content__icontains=term) | Q(reply_summary__icontains=term)
    if _is_openid(term):
        match |= Q(openid=term)
    if _is_msg_id(term):
        match |= Q(msg_id=int(term))
    return match


def _alternatives(term: str) -> list[tuple[str, str]]:
    """What a term may be: ("text" | "openid" | "msg", term)."""
    kinds = (("text", _is_text), ("openid", _is_openid), ("msg", _is_msg_id))
    return [(kind, term) for kind, test in kinds if test(term)]


def _index_match(terms: list[str], account_ids: list[int]) -> Q:
    """A superset of the terms' exact matches that PostgreSQL answers from indexes alone.

    Each way of reading the terms (a number is text or a MsgId; a word of OpenID shape is
    text or an OpenID) is one branch, and the branches are ORed (BitmapOr). Within a
    branch the text terms' bigrams form ONE containment condition, so the GIN index
    intersects their posting lists itself — "hello 777" reads only rows holding both
    (issue 30), where a condition per term let PostgreSQL fetch every "hello" row to
    test "777". The OpenID and MsgId conditions name the accounts as a list because those
    indexes start with the account.
    """
    match = Q()
    for reading in itertools.product(*(_alternatives(term) for term in terms)):
        texts = [term for kind, term in reading if kind == "text"]
        branch = Q()
        if texts:  # bigrams never span the space (migration 0006)
            branch &= Q(_search_bigrams__contains=SearchBigrams(Value(" ".join(texts)), Value("")))
        for kind, term in reading:
            if kind == "openid":
                branch &= Q(account_id__in=account_ids, openid=term)
            elif kind == "msg":
                branch &= Q(account_id__in=account_ids, dedupe_key=f"msg:{term}")
        match |= branch
    return match


def needs_account_ids(terms: list[str]) -> bool:
    return any(OPENID_RE.match(t) or MSG_ID_RE.match(t) for t in terms)


def search_messages(
    queryset: QuerySet, terms: list[str], *, account_ids: list[int] | None = None
) -> QuerySet:
    """Rows of `queryset` matching every term (see the module docstring).

    `account_ids` are the accounts the user may see; needed on PostgreSQL when a term
    may be an OpenID or a MsgId (`needs_account_ids`).

    Several terms are planned together (issue 30, "hello 777": a common word with a rare
    number): one text term walks the newest rows when its statistics (its rarest bigram's
    share of rows) promise COMMON_MATCHES rows; several terms are checked by one bounded
    probe through the index (it stops at COMMON_MATCHES) — their shares multiplied assume
    an independence that words occurring together, or never together, defeat. When the
    probe stops short, its rows are the page's candidates (`_among`): the index is not read
    again. Any other search that does not walk uses the index for all terms at once
    (`_index_match`).
    """
    postgres = bool(queryset.db) and _vendor(queryset.db) == "postgresql"
    if postgres:
        queryset = queryset.alias(_search_bigrams=SearchBigrams(F("content"), F("reply_summary")))
    exact = [_exact_match(term, postgres=postgres) for term in terms]
    if postgres:
        plan = _plan(queryset, terms, account_ids or [])
        if isinstance(plan, list):  # the probe's candidates, every one of them
            queryset = queryset.filter(_among(plan))
        elif plan == INDEX:
            queryset = queryset.filter(_index_match(terms, account_ids or []))
    for match in exact:
        queryset = queryset.filter(match)
    return queryset


class _AnyOf(Lookup):
    """`lhs = ANY(rhs)`, rhs an array (PostgreSQL)."""

    lookup_name = "any_of"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)


#: `_plan`'s answers besides the probe's rows: walk the newest rows; ask the index
WALK = "walk"
INDEX = "index"


def _plan(
    queryset: QuerySet, terms: list[str], account_ids: list[int]
) -> str | list[tuple[int, datetime.datetime]]:
    """How to find the rows: WALK when the terms together probably match COMMON_MATCHES
    rows (walk the newest rows rather than fetch and sort every match), INDEX when the
    index should answer for the page, or the (id, sent_at) of every candidate when the
    several terms' probe through the index found fewer than COMMON_MATCHES."""
    found = [_statistics(queryset, term) for term in terms]
    if not found or any(stat is None for stat in found):
        return INDEX  # an exact OpenID or MsgId, or no statistics yet: the index answers
    known = [stat[0] for stat in found if stat is not None]
    rows = max(stat[1] for stat in found if stat is not None)
    if len(known) == 1:
        return WALK if rows * known[0] >= COMMON_MATCHES else INDEX  # one term: its statistics decide
    # several terms: one bounded probe through the index, whatever the product guesses.
    # Words that occur together defeat the independence it assumes one way ("hello there"),
    # words that never do the other: "hello 777" multiplies to ~8,000 expected rows at
    # 20,000,000 and has none, and a walk for a page of matches that do not exist reads
    # the whole log (issue 30). The probe is one query at every size (a page's queries
    # stay equal), and what it found is the page's candidates: the index is read once.
    probe = queryset.filter(_index_match(terms, account_ids)).order_by().values_list("pk", "sent_at")
    candidates = list(probe[:COMMON_MATCHES])
    return WALK if len(candidates) >= COMMON_MATCHES else candidates


def _among(candidates: list[tuple[int, datetime.datetime]]) -> Q:
    """The rows with these (id, sent_at), through each month's primary key (id, sent_at).

    `id = ANY(array)` rather than `id IN (…)`: no candidate is still one query (Django
    runs none for an empty IN, and the page's queries would differ by size). The
    `sent_at` range of the candidates lets PostgreSQL leave out the months that hold none
    (the log is partitioned by month of `sent_at`, migration 0011)."""
    from django.contrib.postgres.fields import ArrayField

    ids = Value([pk for pk, _sent_at in candidates], output_field=ArrayField(BigIntegerField()))
    among = Q(_AnyOf(F("pk"), ids))
    if candidates:
        times = [sent_at for _pk, sent_at in candidates]
        among &= Q(sent_at__gte=min(times), sent_at__lte=max(times))
    return among


#: the bigram index (migration 0006): ANALYZE keeps the frequency of its common bigrams.
#: On the partitioned log (migration 0011) the parent index keeps no statistics: those of each
#: partition's index are read, with the partition's row count, and weighed together.
INDEX_NAME = "messaging_inbound_search_bigrams"
#: per table the index covers — the log itself, or each partition of a partitioned log,
#: whose partition indexes hold the statistics (a partitioned index has none of its own):
#: its row count and the frequencies ANALYZE found
STATISTICS_SQL = """
SELECT messaging_search_bigrams(%(term)s, ''), t.reltuples, s.most_common_elems::text::text[],
       s.most_common_elem_freqs
FROM pg_class i
JOIN pg_index x ON x.indexrelid = i.oid
JOIN pg_class t ON t.oid = x.indrelid AND t.relkind <> 'p'
LEFT JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = i.relname
WHERE i.oid = to_regclass(%(index)s)
   OR i.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass(%(index)s))
"""


def _statistics(queryset: QuerySet, term: str) -> tuple[float, float] | None:
    """(share, rows): a text term's share of rows at most (its rarest bigram's frequency in the statistics
    ANALYZE keeps for the index; a bigram missing from them is rare: 0). None for a term
    that is only an OpenID or a MsgId, or when there are no statistics yet (a new table).
    On the partitioned log a bigram's share is the partitions' shares weighed by their rows.

    A term that may also be a MsgId ("777") or an OpenID is weighed by its text: the exact
    match adds at most a row.
    """
    if not _is_text(term):
        return None
    return bigram_statistics(queryset.db, term)


def bigram_statistics(alias: str, term: str, *, index: str = INDEX_NAME) -> tuple[float, float] | None:
    """(share, rows) of `term` from the statistics of the bigram `index` (see `_statistics`).

    On a log partitioned by month (issue 30) ANALYZE keeps the frequencies per partition
    index only, so a bigram's share is the partitions' frequencies weighted by their rows;
    on a plain table the one index gives it. None when no table has statistics yet.
    """
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute(STATISTICS_SQL, {"index": index, "term": term})  # one query, as before
        found = cursor.fetchall()
    bigrams = found[0][0] if found else None
    tables = [
        (float(rows), dict(zip(elements, frequencies or [], strict=False)))
        for _bigrams, rows, elements, frequencies in found
        if rows and rows > 0 and elements
    ]
    total = sum(rows for rows, _known in tables)
    if not bigrams or not tables or total <= 0:
        return None

    def share(bigram: str) -> float:
        return sum(rows * known.get(bigram, 0.0) for rows, known in tables) / total

    return min(share(bigram) for bigram in bigrams), total


def _vendor(alias: str) -> str:
    from django.db import connections

    return connections[alias].vendor
