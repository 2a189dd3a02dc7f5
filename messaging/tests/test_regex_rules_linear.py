"""Keyword-rule regexes cannot stall the callback (issue 9): they run on RE2, linear in the text.

No timing flakiness: the engine choice is asserted directly (RE2 has no backtracking),
and the one clock-based check has a bound (50 ms) hundreds of times what RE2 needs,
while Python's backtracking `re` would need minutes for the same input.
`bench/regex_rules.py` prints the figures against `re`.
"""

import time

import pytest
import re2
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory
from messaging.models import Route, compile_rule_regex, text_matches
from messaging.routing import route_message
from messaging.tests.factories import KeywordRuleFactory
from messaging.tests.pushes import text_xml
from wechat.messages import parse_message

CATASTROPHIC = "^(a+)+$"


def test_rule_regexes_are_compiled_by_re2_not_by_backtracking_re():
    compiled = compile_rule_regex(CATASTROPHIC)
    assert type(compiled).__module__.startswith("re2")
    assert isinstance(compiled, type(re2.compile("x")))


@pytest.mark.parametrize("text", ["a" * 30, "a" * 30 + "!", "a" * 2047 + "b"])
def test_the_catastrophic_pattern_answers_well_under_50_ms(text):
    compile_rule_regex(CATASTROPHIC)  # compiling is cached per process, like the callback's
    started = time.perf_counter()
    matched = text_matches("regex", CATASTROPHIC, text)
    elapsed = time.perf_counter() - started
    assert matched is (text == "a" * 30)
    assert elapsed < 0.05, f"{elapsed * 1000:.1f} ms"


def test_regex_rules_keep_python_like_meaning_case_insensitively():
    assert text_matches("regex", r"^价格\d+元$", "价格30元")
    assert text_matches("regex", r"hello\s+world", "say HELLO   World!")
    assert not text_matches("regex", r"^hello$", "hello there")


@pytest.mark.django_db
def test_patterns_re2_refuses_get_a_clear_error_and_never_match():
    rule = KeywordRuleFactory.build(account=OfficialAccountFactory(), match_type="regex", pattern=r"(a)\1")
    with pytest.raises(ValidationError) as caught:
        rule.full_clean()
    assert "RE2" in " ".join(caught.value.message_dict["pattern"])
    assert not text_matches("regex", r"(?=a)a", "a")  # lookahead: refused, never a crash


@pytest.mark.django_db
def test_the_callback_route_answers_a_catastrophic_rule_at_once():
    account = OfficialAccountFactory(message_mode="plaintext")
    KeywordRuleFactory(account=account, match_type="regex", pattern=CATASTROPHIC, reply_text="全是 a")
    message = parse_message(text_xml(account, "a" * 30 + "b"))
    started = time.perf_counter()
    decision = route_message(account=account, message=message, now=timezone.now())
    assert time.perf_counter() - started < 0.5
    assert decision.route != Route.KEYWORD
    matched = route_message(
        account=account, message=parse_message(text_xml(account, "a" * 30)), now=timezone.now()
    )
    assert matched.route == Route.KEYWORD
