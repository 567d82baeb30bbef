"""Outcomes are plain data: any of them survives JSON unchanged (what an outbox keeps until it is sent)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consultations.interactions import (
    ACTIONS,
    Answer,
    ChooseLanguage,
    ConfirmDelete,
    LeaveChat,
    Option,
    Outcome,
    OutcomeError,
    PickLanguage,
    Reply,
    ResultsOptIn,
    ShowPrivacy,
)
from flows.events import Notice

words = st.text(max_size=30)
actions = st.one_of(
    st.builds(Answer, words, st.integers(0, 9999), words),
    st.builds(Answer, words, st.integers(0, 9999), words, words, words),
    st.builds(ChooseLanguage, words, words),
    st.builds(PickLanguage, words),
    st.builds(ConfirmDelete, st.booleans()),
    st.builds(ResultsOptIn, words),
    st.builds(ShowPrivacy, words, words),
    st.just(LeaveChat()),
)
options = st.builds(Option, words, actions, st.none() | st.integers(1, 500), st.booleans())
replies = st.builds(
    Reply,
    words,
    st.sampled_from(["en", "fr", "ar"]),
    st.none() | st.sampled_from(list(Notice)),
    st.lists(options, max_size=4).map(tuple),
    st.lists(st.lists(options, min_size=1, max_size=3).map(tuple), max_size=3).map(tuple),
    st.booleans(),
)
outcomes = st.builds(
    Outcome,
    st.lists(replies, max_size=3),
    st.none() | st.sampled_from(list(Notice)),
    st.sampled_from(["en", "sw"]),
    st.booleans(),
    st.lists(st.integers(1, 10**9), max_size=5),
)


@given(outcomes)
def test_every_outcome_survives_json(outcome: Outcome) -> None:
    assert Outcome.from_json(outcome.to_json()) == outcome


def test_every_action_type_has_a_stable_name() -> None:
    assert set(ACTIONS.values()) == {
        Answer,
        ChooseLanguage,
        PickLanguage,
        ConfirmDelete,
        ResultsOptIn,
        ShowPrivacy,
        LeaveChat,
    }


def test_a_foreign_action_is_refused() -> None:
    stored = Outcome([Reply("Hi", options=(Option("OK", ConfirmDelete(True)),))]).to_json()
    with pytest.raises(OutcomeError, match="unknown action"):
        Outcome.from_json(stored.replace('"kind":"delete"', '"kind":"launch"'))
