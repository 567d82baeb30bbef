"""Issue 10, item 2: "Exit and clear chat" is on every message that has buttons, on every path.

A person walks every shipped survivor flow through the core, and at every question reaches it again every way
there is: forward, re-asked after a wrong answer, after /back, /language, /pause then /resume, the invite opened
again, a page turned, an option ticked, /delete declined; then the end. Any message with buttons but no way out
fails the test, and so does a way that was never tried (so the walk cannot quietly shrink)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from config.settings import Secrets
from consultations import lifecycle
from consultations.interactions import (
    Answer,
    AskDelete,
    AskLanguage,
    Begin,
    Do,
    LeaveChat,
    Other,
    Outcome,
    Reply,
    ResultsOptIn,
    Said,
)
from consultations.service import ConversationService
from consultations.texts import language_name
from flows.events import Command
from flows.loader import FlowLibrary, parse_flow, shipped_library
from flows.schema import Audience, FlowDefinition
from flows.steps import REGISTRY
from storage.database import Database
from tests.consultations.chat import Chat

EN_FR = ("en", "fr")


def texts(en: str) -> dict[str, str]:
    return {"en": en, "fr": f"{en} (fr)"}


def options(count: int) -> list[dict[str, object]]:
    return [{"code": f"o{n}", "label": texts(f"Option {n}")} for n in range(1, count + 1)]


EVERY_KIND = parse_flow(
    {
        "spec_version": 2,
        "id": "every_kind",
        "version": 1,
        "audience": "survivor",
        "languages": list(EN_FR),
        "default_language": "en",
        "title": texts("Every kind of question"),
        "steps": [
            {
                "id": "consent",
                "type": "consent",
                "version": 1,
                "text": texts("Agree?"),
                "decline_text": texts("Fine."),
            },
            {"id": "age", "type": "age_gate", "text": texts("Age?")},
            {"id": "long", "type": "single_choice", "text": texts("One of many?"), "options": options(12)},
            {"id": "many", "type": "multiple_choice", "text": texts("Some of many?"), "options": options(12)},
            {"id": "yes", "type": "yes_no", "text": texts("Yes or no?")},
            {"id": "rate", "type": "rating", "text": texts("Rate it?"), "min": 1, "max": 5},
            {"id": "seen", "type": "acknowledge", "text": texts("Read this.")},
            {"id": "count", "type": "integer", "text": texts("How many?"), "min": 0, "max": 100},
            {"id": "when", "type": "date", "text": texts("When?")},
            {"id": "words", "type": "free_text", "text": texts("In your words?")},
            {"id": "bye", "type": "end", "text": texts("Thank you.")},
        ],
    },
    "every_kind",
)
"""A survivor flow with every kind of question that waits, and lists long enough to have pages."""
LIBRARY = FlowLibrary([*(shipped_library().latest(i) for i in shipped_library().ids()), EVERY_KIND])
SURVIVOR_FLOWS = [flow_id for flow_id in LIBRARY.ids() if LIBRARY.latest(flow_id).audience is Audience.SURVIVOR]
EVERY_QUESTION = {"forward", "re-asked", "/language", "/pause then /resume", "invite again", "/delete declined"}
"""Ways to reach every question; "/back" too for every question after the first, "page" and "ticked" where the
question has pages or ticks."""


def has_exit(reply: Reply) -> bool:
    return any(
        isinstance(o.action, LeaveChat) or (isinstance(o.action, Answer) and o.action.token == "x")
        for o in reply.choices
    )


def without_exit(outcome: Outcome) -> list[str]:
    return [reply.text or str(reply.notice) for reply in outcome.replies if reply.choices and not has_exit(reply)]


class Walker:
    """One person walking a flow, checking the way out on every message with buttons they get."""

    def __init__(self, chat: Chat, flow: FlowDefinition, code: str) -> None:
        self.chat = chat
        self.flow = flow
        self.code = code
        self.ways: dict[str, set[str]] = {}
        self.missing: list[str] = []

    async def send(self, incoming: object, **kwargs: int) -> Outcome:
        outcome = await self.chat.send(incoming, **kwargs)  # type: ignore[arg-type]
        self.missing += without_exit(outcome)
        return outcome

    async def choose(self, label: str) -> Outcome:
        outcome = await self.chat.choose(label)
        self.missing += without_exit(outcome)
        return outcome

    def question(self) -> tuple[int, Reply]:
        """The newest message with choices, and the index of the step it asks."""
        for _, reply in reversed(self.chat.screen):
            steps = [o.action.step for o in reply.choices if isinstance(o.action, Answer)]
            if steps:
                return steps[0], reply
        raise AssertionError("no question on screen")

    def seen(self, way: str) -> None:
        index, _ = self.question()
        self.ways.setdefault(self.flow.steps[index].id, set()).add(way)

    async def answer(self) -> None:
        """Answer the question on screen and go on: an adult age band, the first option, or a written answer."""
        index, reply = self.question()
        step = self.flow.steps[index]
        if step.type == "age_gate":
            await self.choose(reply.options[2].label)
        elif step.type == "multiple_choice":
            await self.choose(reply.options[0].label)
            await self.choose(
                next(o.label for o in reply.choices if isinstance(o.action, Answer) and o.action.token == "d")
            )
        elif reply.options:
            await self.choose(reply.options[0].label)
        elif step.type in ("integer", "decimal"):
            await self.send(Said(str(int(step.min if step.min is not None else 1))))
        elif step.type == "date":
            await self.send(Said("2020-01-31"))
        else:
            await self.send(Said("Better schools"))

    async def every_way(self, first: bool) -> None:
        """Reach the question on screen again every way there is."""
        index, reply = self.question()
        step = self.flow.steps[index]
        self.seen("forward")
        await self.send(Said(" \u200b \n \u2060 "))  # nothing readable: explained, and asked again
        self.seen("re-asked")
        await self.send(Other("sticker"))
        picker = await self.send(AskLanguage())
        assert picker.replies and picker.replies[0].options
        await self.choose(language_name(self.chat_language()))
        self.seen("/language")
        await self.send(Do(Command.PAUSE))
        await self.send(Begin(None))
        self.seen("/pause then /resume")
        await self.send(Begin(self.code))
        self.seen("invite again")
        await self.send(AskDelete())
        await self.choose(self.chat.last.options[-1].label)  # "No, keep my answers"
        self.seen("/delete declined")
        pages = [o for o in reply.choices if o.label.startswith("More")]
        if pages:
            await self.choose(pages[0].label)
            self.seen("page")
            await self.choose(next(o.label for o in self.question()[1].choices if o.label.startswith("◀")))
        if step.type == "multiple_choice":
            await self.choose(reply.options[0].label)  # ticked, shown again in place
            self.seen("ticked")
            await self.choose(self.question()[1].options[0].label)  # and unticked
        if not first:
            await self.send(Do(Command.BACK))
            previous = self.question()[0]
            self.ways.setdefault(self.flow.steps[previous].id, set()).add("/back")
            await self.answer()
            assert self.question()[0] == index

    def chat_language(self) -> str:
        return self.chat.last.language

    def at_the_end(self) -> bool:
        return any(isinstance(o.action, ResultsOptIn) for o in self.chat.last.choices)


@pytest.fixture
async def service(database: Database, secrets: Secrets) -> AsyncIterator[ConversationService]:
    yield ConversationService(database, LIBRARY, secrets, max_text_length=200)


async def open_for(database: Database, library: FlowLibrary, flow_id: str, code: str) -> None:
    flow = library.latest(flow_id)
    new = lifecycle.plan(library, flow_id=flow_id, country="KE", title="Walk", languages=list(flow.languages))
    await lifecycle.open_consultation(database, new, code=code)


@pytest.mark.parametrize("flow_id", SURVIVOR_FLOWS)
async def test_every_message_with_buttons_offers_the_way_out_on_every_path(
    service: ConversationService, database: Database, flow_id: str
) -> None:
    assert "roadmap_feedback" in SURVIVOR_FLOWS
    code = "WALK" + str(SURVIVOR_FLOWS.index(flow_id))
    await open_for(database, LIBRARY, flow_id, code)
    flow = LIBRARY.latest(flow_id)
    walker = Walker(Chat(service, identity=9_300_001), flow, code)

    # the consent, the language picker and the consent again in another language, the privacy notice
    await walker.send(Begin(code))
    await walker.choose(next(o.label for o in walker.chat.last.choices if o.label.startswith("🌐")))
    await walker.choose(language_name(flow.default_language))
    await walker.choose(next(o.label for o in walker.chat.last.choices if o.label.startswith("🔒")))
    consent = next(r for _, r in reversed(walker.chat.screen) if any(o.label == "I agree" for o in r.options))
    assert has_exit(consent)
    await walker.choose("I agree")

    # every question, every way, to the end
    first = True
    while not walker.at_the_end():
        await walker.every_way(first)
        first = False
        await walker.answer()
    assert has_exit(walker.chat.last), "the last message has buttons (the results opt-in) but no way out"

    assert walker.missing == [], f"messages with buttons but no way out: {walker.missing}"
    questions = [s.id for s in flow.steps if REGISTRY[s.type].waits and s.type != "consent"]
    if flow_id == EVERY_KIND.id:
        assert {"page", "ticked"} <= walker.ways["many"] and "page" in walker.ways["long"]
    for number, step_id in enumerate(questions):
        expected = EVERY_QUESTION | ({"/back"} if number < len(questions) - 1 else set())
        assert expected <= walker.ways.get(step_id, set()), (step_id, expected - walker.ways.get(step_id, set()))
