"""The one callback-data codec: every action round-trips within Telegram's 64 bytes; anything else is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.callback_data import MAX_BYTES, MAX_CODE_LENGTH, CallbackDataError, decode, encode
from consultations.consent import SEAL_LENGTH
from consultations.interactions import (
    Action,
    Answer,
    ChooseLanguage,
    ConfirmDelete,
    LeaveChat,
    PickLanguage,
    ResultsOptIn,
    ShowPrivacy,
)
from flows.events import MAX_STEPS, MAX_TOKEN_LENGTH

codes = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefxyz0123456789_-", min_size=1, max_size=MAX_CODE_LENGTH)
tokens = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=MAX_TOKEN_LENGTH)
languages = st.sampled_from(["en", "fr", "es", "pt", "ar", "sw", "ha", "fil"])
seals = st.text(alphabet="0123456789abcdef", min_size=SEAL_LENGTH, max_size=SEAL_LENGTH)
actions = st.one_of(
    st.builds(Answer, codes, st.integers(0, MAX_STEPS - 1), tokens),
    st.builds(Answer, codes, st.integers(0, MAX_STEPS - 1), tokens, languages, seals),
    st.builds(ChooseLanguage, languages, codes | st.just("")),
    st.builds(PickLanguage, codes | st.just("")),
    st.builds(ConfirmDelete, st.booleans()),
    st.builds(ResultsOptIn, codes),
    st.builds(ShowPrivacy, codes, languages),
    st.just(LeaveChat()),
)


@given(actions)
def test_every_action_round_trips_within_64_bytes(action: Action) -> None:
    data = encode(action)
    assert 1 <= len(data.encode()) <= MAX_BYTES
    assert decode(data) == action


@given(st.text(max_size=80))
def test_anything_else_decodes_to_nothing_or_to_what_it_says(data: str) -> None:
    action = decode(data)
    assert action is None or encode(action) == data


def test_the_longest_answer_the_flows_allow_fits() -> None:
    action = Answer("X" * MAX_CODE_LENGTH, MAX_STEPS - 1, "p" * MAX_TOKEN_LENGTH)
    assert len(encode(action).encode()) <= MAX_BYTES
    sealed = Answer("X" * MAX_CODE_LENGTH, MAX_STEPS - 1, "p" * MAX_TOKEN_LENGTH, "fil", "f" * SEAL_LENGTH)
    assert len(encode(sealed).encode()) <= MAX_BYTES


def test_a_consent_choice_carries_its_language_and_seal() -> None:
    """Issue 10, items 1 and 13: the language the consent was shown in, and the core's proof it was shown."""
    assert decode("DEMO.0.y.fr.0123456789abcdef") == Answer("DEMO", 0, "y", "fr", "0123456789abcdef")


def test_buttons_already_in_chats_keep_working() -> None:
    """The formats the bot has always sent: a deploy must not turn the buttons people see into dead ones."""
    assert decode("E2ETEST1.0.y") == Answer("E2ETEST1", 0, "y")
    assert decode("DEMO.12.p1") == Answer("DEMO", 12, "p1")
    assert decode("L:fr:DEMO") == ChooseLanguage("fr", "DEMO")
    assert decode("L:sw:") == ChooseLanguage("sw", "")
    assert decode("L:pick:DEMO") == PickLanguage("DEMO")
    assert decode("del:y") == ConfirmDelete(True) and decode("del:n") == ConfirmDelete(False)
    assert decode("res:DEMO") == ResultsOptIn("DEMO")
    assert decode("DEMO.3.x") == Answer("DEMO", 3, "x")  # the safe exit of older messages: the engine's
    assert decode("x") == LeaveChat()
    assert decode("P:fr:DEMO") == ShowPrivacy("DEMO", "fr")


@pytest.mark.parametrize(
    "data",
    [
        "",
        "hello",
        "DEMO.1",
        "DEMO.01.y",
        "DEMO.10000.y",
        "DEMO.1.Y",
        "DEMO.1.abcde",
        "DE MO.1.y",
        "L:english:DEMO",
        "L:fr:DE MO",
        "del:maybe",
        "res:",
        "X" * 33 + ".1.y",
        "DEMO.1.y\n",
        "DEMO.0.y.fr",
        "DEMO.0.y.fr.0123",
        "DEMO.0.y.FR.0123456789abcdef",
        "DEMO.0.y..0123456789abcdef",
    ],
)
def test_refused(data: str) -> None:
    assert decode(data) is None


@pytest.mark.parametrize(
    "action",
    [
        Answer("X" * 33, 1, "y"),
        Answer("DEMO", MAX_STEPS, "y"),
        Answer("DEMO", 1, "toolong"),
        Answer("DE MO", 1, "y"),
        ChooseLanguage("english", "DEMO"),
        ResultsOptIn(""),
        Answer("DEMO", 0, "y", "fr", ""),
        Answer("DEMO", 0, "y", "", "0123456789abcdef"),
    ],
)
def test_an_action_that_cannot_be_carried_is_a_bug_caught_at_once(action: Action) -> None:
    with pytest.raises(CallbackDataError):
        encode(action)
