"""Fixtures of the parser tests: one rule set and one parser per session (jieba loads once)."""

from __future__ import annotations

import pytest

from bot.parsing import Parser, RuleSet, load_rules


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return load_rules()


@pytest.fixture(scope="session")
def parser(rules: RuleSet) -> Parser:
    return Parser(rules)
