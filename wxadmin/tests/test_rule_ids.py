"""(issue 29 §9) Every business rule is quoted by the code that enforces it and by a test.

docs/business-rules.md: "the code that enforces a rule quotes its ID in a docstring or
comment, and the test that proves it quotes it in its name or docstring".
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULE = re.compile(r"R-[A-Z]+-\d+")
TEST_SPELLING = re.compile(r"\br_([a-z]+)_(\d+)")
PACKAGES = (
    "accounts",
    "certification",
    "content",
    "core",
    "menus",
    "messaging",
    "wechat",
    "wechat_sandbox",
    "wxadmin",
)


def _python_files():
    for package in PACKAGES:
        yield from (ROOT / package).rglob("*.py")


def _ids_in_code_and_tests() -> tuple[set[str], set[str]]:
    code: set[str] = set()
    tests: set[str] = set()
    for path in _python_files():
        if path.name == "test_rule_ids.py":
            continue
        text = path.read_text(encoding="utf-8")
        if "tests" in path.parts:
            tests |= set(RULE.findall(text))
            tests |= {f"R-{family.upper()}-{number}" for family, number in TEST_SPELLING.findall(text)}
        else:
            code |= set(RULE.findall(text))
    return code, tests


def test_every_documented_rule_is_quoted_in_code_and_in_a_test():
    documented = set(RULE.findall((ROOT / "docs" / "business-rules.md").read_text(encoding="utf-8")))
    code, tests = _ids_in_code_and_tests()
    assert documented, "no rule IDs found in docs/business-rules.md"
    assert sorted(documented - code) == [], "rules no code quotes"
    assert sorted(documented - tests) == [], "rules no test quotes"


def test_every_rule_the_code_quotes_is_documented_and_tested():
    documented = set(RULE.findall((ROOT / "docs" / "business-rules.md").read_text(encoding="utf-8")))
    code, tests = _ids_in_code_and_tests()
    assert sorted(code - documented) == [], "rules quoted in code but not in docs/business-rules.md"
    assert sorted(code - tests) == [], "rules quoted in code but by no test"
