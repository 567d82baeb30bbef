"""Two hundred scripted conversations under scripted failures (issue 12, Tests): 429 storms, 5xx on sendMessage,
editMessageText and deleteMessages, a slow Bot API, and

- on SQLite, the real `python -m bot run` (a subprocess polling the emulator) SIGKILLed at seeded random
  moments and started again on the same data;
- on PostgreSQL, three workers sharing one database, the database refusing connections for a while (a real
  relay switched off and on) in the middle.

Each conversation: /start with the invite, consent, an age band, answers by button and typed, /skip and the Skip
button, sometimes /back (and a changed answer), and about a quarter end with the safe exit /exit. Afterwards,
from the database and the emulator: every answer recorded exactly once and as scripted (free text decrypted),
every person's replies in the script's order, every safe exit completed (the chat holds no message), no apology.

A reply may come twice only where the outbox is at-least-once (README): a message Telegram had accepted when
its worker died, or answered with a 504, or whose delivery could not be recorded because the database had just
gone. Such a repeat is always right after the first copy (one message in flight per chat); with the question
asked once more for an answer typed on a copy the bot did not know was delivered, at most two per chat and
disruption (or lost answer), and never more than twice the rows held at the disruptions plus the lost answers."""

from __future__ import annotations

import asyncio
import base64
import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bot.telegram import BotApplication, build_application, outbox_sender
from config.settings import SANDBOX_TOKEN, Secrets
from consultations.service import ConversationService
from flows.loader import shipped_library
from sandbox import Emulator, SandboxMessage, SandboxUser, create_sandbox_app
from sandbox.faults import ServerError, TooManyRequests
from storage import outbox
from storage.database import Database
from storage.migrate import upgrade
from storage.models import Answer, ConversationSession, OutboxMessage, Participant
from storage.privacy import KeyRing, answer_context, pseudonym
from tests.e2e.conftest import CODE, Harness
from tests.e2e.database_switch import DatabaseSwitch, switched_postgres
from tests.e2e.test_run_command import ROOT, free_port

CONVERSATIONS = 200
EXITS = 0.25
"""About a quarter of the people leave by the safe exit, at a random question."""
KILLS = 3
WORKERS = 3
OUTAGE_SECONDS = 4.0
WAIT = 150.0
"""How long one person waits for a reply at most (a worker's lease outlives it by 30 s after a kill)."""
ACCEPTED_BUT_FAILED = 504
"""A sendMessage that Telegram carried out but answered with a 504 (as after a timeout): the bot cannot know it
was sent, and sends it again."""
GRACE = 10.0
"""How long a person waits, after the question they just answered came again, for the next one."""
APOLOGY = "Sorry, something went wrong"
BACK_NOTE = "Going back to the previous question."

FLOW = shipped_library().latest("roadmap_feedback")
STEPS = [step.id for step in FLOW.steps]
STARTS = {step.text["en"][:40]: step.id for step in FLOW.steps if step.text and "en" in step.text}
QUESTIONS = ("group", "awareness", "priorities", "services_access", "survivors_included", "recommendation")


def step_of(message: SandboxMessage) -> str | None:
    text = message.text or ""
    return next((step for start, step in STARTS.items() if text.startswith(start)), None)


def token_of(message: SandboxMessage) -> str:
    """What a bot message is, for comparing a transcript with its script: a step id, or its text."""
    return step_of(message) or (message.text or "")


@dataclass(frozen=True)
class Move:
    """One way to answer a question: press a button (`label`), type `text`, or both for a multiple choice
    (press `label`, then Done). `code` is what must be recorded (None: skipped)."""

    how: str  # "button", "typed", "toggle", "skip-button", "skip-command"
    code: str | None
    label: str = ""
    text: str = ""


@dataclass
class Script:
    index: int
    moves: dict[str, Move]
    back_at: str | None = None
    """At its first sight of this question, the person sends /back, then answers the previous one anew."""
    changed: Move | None = None
    """The answer to the previous question after /back."""
    exit_at: str | None = None
    """At its first sight of this question, the person sends /exit."""

    def went_back(self) -> bool:
        """The person reached the question where it goes back (before any exit)."""
        if self.back_at is None:
            return False
        return self.exit_at is None or QUESTIONS.index(self.exit_at) > QUESTIONS.index(self.back_at)

    def expected_tokens(self) -> list[str]:
        tokens = ["consent", "age"]
        for question in QUESTIONS:
            if question == self.exit_at:
                return [*tokens, question]
            tokens.append(question)
            if question == self.back_at:
                previous = QUESTIONS[QUESTIONS.index(question) - 1]
                tokens += [BACK_NOTE, previous, question]
        return [*tokens, "thanks"]

    def expected_answers(self) -> dict[str, tuple[str | None, bool]]:
        """question -> (choice codes or typed text, skipped)."""
        answers: dict[str, tuple[str | None, bool]] = {"consent": ("agree", False), "age": ("25_34", False)}
        for question in QUESTIONS:
            if question == self.exit_at:
                break
            move = self.moves[question]
            if self.went_back() and self.changed is not None and question == previous_of(self.back_at or ""):
                move = self.changed
            answers[question] = (move.code, move.code is None)
        return answers


def previous_of(question: str) -> str:
    return QUESTIONS[QUESTIONS.index(question) - 1]


def choice_move(rng: random.Random, question: str, *, skippable: bool = True) -> Move:
    options = next(step for step in FLOW.steps if step.id == question).options
    roll = rng.random()
    if skippable and roll < 0.2:
        return Move("skip-button" if rng.random() < 0.5 else "skip-command", None)
    number = rng.randrange(len(options))
    option = options[number]
    if roll < 0.6:
        return Move("button", option.code, label=option.label["en"])
    typed = str(number + 1) if rng.random() < 0.5 else option.label["en"].lower()
    return Move("typed", option.code, label=option.label["en"], text=typed)


def make_script(index: int, rng: random.Random) -> Script:
    moves = {question: choice_move(rng, question) for question in ("group", "awareness", "services_access")}
    moves["survivors_included"] = choice_move(rng, "survivors_included")
    priorities = next(step for step in FLOW.steps if step.id == "priorities").options
    if rng.random() < 0.6:
        option = rng.choice(priorities)
        moves["priorities"] = Move("toggle", option.code, label=option.label["en"])
    else:
        moves["priorities"] = Move("skip-command", None)
    if rng.random() < 0.85:
        written = f"More labour inspectors in district {index}"
        moves["recommendation"] = Move("typed", written, text=written)
    else:
        moves["recommendation"] = Move("skip-command", None)
    script = Script(index, moves)
    if rng.random() < 0.3:  # /back from a single-choice question, and a changed answer to the one before
        script.back_at = rng.choice(("awareness", "services_access", "survivors_included"))
        previous = previous_of(script.back_at)
        script.changed = (
            choice_move(rng, previous, skippable=False) if previous != "priorities" else Move("skip-command", None)
        )
    if rng.random() < EXITS:
        script.exit_at = rng.choice(QUESTIONS)
    return script


# ------------------------------------------------------------------------------------------------ one person


@dataclass
class Person:
    emulator: Emulator
    user: SandboxUser
    script: Script
    seen: int = 0
    gone_back: bool = False
    last: str | None = None
    again: bool = False
    acted: Counter[str] = field(default_factory=Counter)

    def newer(self) -> bool:
        return len(self.emulator.bot_messages(self.user.id, include_deleted=True)) > self.seen

    async def next_question(self) -> tuple[SandboxMessage, str]:
        """The newest bot message once it is a new question (a note before it is passed over). The question just
        answered, again, is a repeat (an at-least-once delivery) when the next one follows it within GRACE
        seconds, and is asked again (the answer did not count) when nothing follows."""

        def ready() -> bool:
            messages = self.emulator.bot_messages(self.user.id, include_deleted=True)
            return len(messages) > self.seen and step_of(messages[-1]) is not None

        while True:
            await self.emulator.wait_until(ready, timeout=WAIT, chat_id=self.user.id, description="a question")
            messages = self.emulator.bot_messages(self.user.id, include_deleted=True)
            self.seen = len(messages)
            step = step_of(messages[-1])
            assert step is not None
            self.again = step == self.last and step != "thanks"
            if not self.again:
                break
            try:  # a written answer cannot be told from a late one: wait out a dead worker's lease first
                await self.emulator.wait_until(self.newer, timeout=GRACE if step != "recommendation" else 45.0)
            except TimeoutError:
                break  # asked again: answer again (by button: pressed on an old copy, it changes nothing)
        self.last = step
        return messages[-1], step

    async def converse(self) -> None:
        e, user, script = self.emulator, self.user, self.script
        e.user_sends_text(user, f"/start {CODE}")
        while True:
            message, step = await self.next_question()
            self.acted[step] += 1
            if step == "thanks":
                return
            if step == "consent":
                e.user_presses_button(user, message.message_id, "I agree")
            elif step == "age":
                e.user_presses_button(user, message.message_id, "25 to 34")
            elif step == script.exit_at:
                e.user_sends_text(user, "/exit")
                await e.wait_until(lambda: not e.chat(user.id), timeout=WAIT, chat_id=user.id, description="exit")
                return
            elif step == script.back_at and not self.gone_back:
                self.gone_back = True
                e.user_sends_text(user, "/back")
                self.last = None
            else:
                move = script.moves[step]
                if self.gone_back and script.changed is not None and step == previous_of(script.back_at or ""):
                    move = script.changed
                await self.answer(message, move)

    async def answer(self, message: SandboxMessage, move: Move) -> None:
        e, user = self.emulator, self.user
        if self.again and move.how == "typed" and move.label:
            move = Move("button", move.code, label=move.label)
        elif self.again and move.how == "skip-command" and step_of(message) != "recommendation":
            move = Move("skip-button", None)
        if move.how == "button":
            e.user_presses_button(user, message.message_id, move.label)
        elif move.how == "typed":
            e.user_sends_text(user, move.text)
        elif move.how == "skip-button":
            e.user_presses_button(user, message.message_id, "Skip")
        elif move.how == "skip-command":
            e.user_sends_text(user, "/skip")
        else:  # a multiple choice: tick one, wait for the tick to show, then Done
            ticked = f"✅ {move.label}"

            def shows() -> bool:  # on this message, or on an earlier copy of it (the tick is the session's)
                copies = [m for m in e.bot_messages(user.id, include_deleted=True) if step_of(m) == step_of(message)]
                return any(ticked in [str(b["text"]) for b in m.buttons] for m in copies)

            if not shows():
                e.user_presses_button(user, message.message_id, move.label)
                await e.wait_until(
                    lambda: shows() or self.newer(), timeout=WAIT, chat_id=user.id, description="the tick"
                )
                if self.newer():  # a repeat of the question was on its way: act on what came
                    return
            e.user_presses_button(user, message.message_id, "Done")


def scripts(seed: int) -> list[Script]:
    rng = random.Random(seed)
    return [make_script(i, rng) for i in range(CONVERSATIONS)]


async def run_people(emulator: Emulator, plan: list[Script]) -> list[Person]:
    people = [Person(emulator, emulator.new_user(f"Scripted {s.index}", language_code="en"), s) for s in plan]

    async def one(person: Person, delay: float) -> None:
        await asyncio.sleep(delay)
        await person.converse()

    await asyncio.gather(*(one(p, i * 0.02) for i, p in enumerate(people)))
    return people


def script_faults(emulator: Emulator) -> None:
    """A slow Bot API that fails now and then, and 429 storms."""
    emulator.faults.slow(["sendMessage", "editMessageText", "deleteMessages"], (0.0, 0.15))
    emulator.faults.fail(["sendMessage", "editMessageText"], ServerError(500), probability=0.04)
    emulator.faults.fail("sendMessage", ServerError(ACCEPTED_BUT_FAILED), probability=0.02, takes_effect=True)
    emulator.faults.fail("deleteMessages", ServerError(502), probability=0.3)


async def storms(emulator: Emulator, rng: random.Random, stop: asyncio.Event, count: int = 3) -> None:
    """Flood control now and then: a few 429s in a row with retry_after."""
    for _ in range(count):
        try:
            await asyncio.wait_for(stop.wait(), rng.uniform(5.0, 20.0))
            return
        except TimeoutError:
            emulator.faults.fail("*", TooManyRequests(retry_after=rng.choice((1, 2))), times=rng.randint(2, 5))


# ------------------------------------------------------------------------------------------------ checks


@dataclass
class Disruptions:
    """Kills or outages, and the outbox rows the workers held (leased, maybe accepted by Telegram) at each."""

    held: list[int] = field(default_factory=list)


def accepted_but_failed(emulator: Emulator, chat_id: int | None = None) -> int:
    """sendMessage calls carried out and answered with the scripted 504 (to this chat)."""
    return sum(
        1
        for e in emulator.api_errors
        if e.injected
        and e.method == "sendMessage"
        and e.error_code == ACCEPTED_BUT_FAILED
        and (chat_id is None or e.params.get("chat_id") == chat_id)
    )


def check_transcripts(people: list[Person], disruptions: Disruptions) -> int:
    """Every person's bot messages in the script's order; a repeat only right after its first copy, and only of a
    message in flight at a disruption or sent with a lost answer. The number of repeats."""
    repeats = 0
    emulator = people[0].emulator
    for person in people:
        messages = person.emulator.bot_messages(person.user.id, include_deleted=True)
        texts = [m.text or "" for m in messages]
        assert not any(APOLOGY in text for text in texts), (person.script.index, texts)
        tokens = [token_of(m) for m in messages]
        collapsed = [t for i, t in enumerate(tokens) if i == 0 or t != tokens[i - 1]]
        mine = len(tokens) - len(collapsed)
        assert collapsed == person.script.expected_tokens(), (person.script, tokens)
        # per disruption or lost answer, a chat gets its message again, and perhaps the question once more for an
        # answer typed on the copy the bot did not know was delivered ("the screen and the state agree")
        allowed = 2 * (len(disruptions.held) + accepted_but_failed(emulator, person.user.id))
        assert mine <= allowed, (person.script.index, tokens)
        repeats += mine
        if person.script.exit_at is not None:
            assert person.emulator.chat(person.user.id) == [], person.script.index  # the safe exit completed
    assert repeats <= 2 * (sum(disruptions.held) + accepted_but_failed(emulator)), (repeats, disruptions.held)
    return repeats


async def check_answers(database: Database, secrets: Secrets, people: list[Person]) -> None:
    """Each person's answers in the database are the script's, each once; free text decrypted."""
    keys = KeyRing(secrets.keys)
    async with database.reader() as session:
        participants = {p.pseudonym: p.id for p in (await session.exec(select(Participant))).all()}
        sessions = (await session.exec(select(ConversationSession))).all()
        answers = (await session.exec(select(Answer))).all()
    by_participant: dict[int, list[ConversationSession]] = {}
    for row in sessions:
        by_participant.setdefault(row.participant_id, []).append(row)
    by_session: dict[int, list[Answer]] = {}
    for answer in answers:
        by_session.setdefault(answer.session_id, []).append(answer)
    assert len(participants) == len(people) and len(sessions) == len(people)
    for person in people:
        participant = participants[pseudonym(secrets.pepper, person.user.id)]
        assert participant is not None
        [row] = by_participant[participant]
        assert row.id is not None
        if person.script.exit_at is None:
            assert row.status == "completed", (person.script.index, row.status)
        recorded: dict[str, tuple[str | None, bool]] = {}
        for answer in by_session.get(row.id, []):
            assert answer.question_id not in recorded, (person.script.index, answer.question_id)
            value = answer.choice_codes
            if answer.text_cipher is not None and answer.key_id is not None:
                context = answer_context(row.consultation_id, participant, row.id, answer.question_id)
                value = keys.decrypt(answer.text_cipher, answer.key_id, context)
            recorded[answer.question_id] = (value, answer.skipped)
        expected = person.script.expected_answers()
        differ = {
            q: (recorded.get(q), expected.get(q)) for q in {*recorded, *expected} if recorded.get(q) != expected.get(q)
        }
        assert not differ, (person.script.index, "question: (recorded, scripted)", differ, person.acted, person.script)


async def held_rows(database: Database) -> int:
    """Outbox rows a worker holds the lease on (in flight)."""
    async with database.reader() as session:
        rows = await session.exec(
            select(OutboxMessage.id).where(
                col(OutboxMessage.state) == outbox.PENDING, col(OutboxMessage.lease_until).is_not(None)
            )
        )
        return len(rows.all())


def summary(variant: str, started: float, people: list[Person], repeats: int, d: Disruptions) -> None:
    exits = sum(1 for p in people if p.script.exit_at is not None)
    backs = sum(1 for p in people if p.script.went_back())
    print(
        f"\n{variant}: {len(people)} conversations ({exits} safe exits, {backs} with /back) in "
        f"{time.monotonic() - started:.0f} s; disruptions holding {d.held} rows; "
        f"{accepted_but_failed(people[0].emulator)} sent but answered 504; {repeats} repeated messages"
    )


# ------------------------------------------------------------------------------------------------ SQLite


async def start_bot(tmp_path: Path, base_url: str, secrets: Secrets, log: Path) -> asyncio.subprocess.Process:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VOICES_", "DATABASE_"))}
    environment.update(
        {
            "TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN,  # not the sandbox: the bot polls the emulator of this test
            "TELEGRAM_API_BASE_URL": base_url,
            "VOICES_DATA_DIR": str(tmp_path / "data"),
            "VOICES_DASHBOARD_PORT": str(free_port()),
            "VOICES_PEPPER": secrets.pepper.decode(),
            "VOICES_DATA_KEYS": ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in secrets.keys),
            "PYTHONPATH": str(ROOT),
        }
    )
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=environment, stdout=out, stderr=out
        )


async def test_200_conversations_on_sqlite_with_a_worker_killed_at_random(tmp_path: Path, secrets: Secrets) -> None:
    started = time.monotonic()
    rng = random.Random(8712)
    (tmp_path / "data").mkdir()
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'voices.db'}")
    await upgrade(database)
    emulator = Emulator(token=SANDBOX_TOKEN, seed=12)
    server = TestServer(create_sandbox_app(emulator), host="127.0.0.1")
    await server.start_server()
    await Harness(emulator, server, database, secrets).create_consultation()
    base_url = f"http://127.0.0.1:{server.port}/bot"
    log = tmp_path / "run.log"
    script_faults(emulator)
    process = await start_bot(tmp_path, base_url, secrets, log)
    disruptions = Disruptions()
    done = asyncio.Event()

    async def killer() -> None:
        nonlocal process
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(8.0, 25.0))
            process.send_signal(signal.SIGKILL)
            await process.wait()
            disruptions.held.append(await held_rows(database))
            process = await start_bot(tmp_path, base_url, secrets, log)

    try:
        kills = asyncio.create_task(killer())
        storm = asyncio.create_task(storms(emulator, rng, done))
        people = await run_people(emulator, scripts(87))
        await kills
        done.set()
        await storm
        assert len(disruptions.held) == KILLS
        assert sum(disruptions.held) > 0, "no kill landed while replies were in flight: the test proved nothing"
        await wait_drained(database)
        await asyncio.sleep(2)  # anything more that would come
        repeats = check_transcripts(people, disruptions)
        await check_answers(database, secrets, people)
        assert "Traceback" not in log.read_text(errors="replace")
        assert any(isinstance(f.failure, TooManyRequests) for f in emulator.faults.injected)
        assert any(f.failure is not None and f.method == "deleteMessages" for f in emulator.faults.injected)
        summary("SQLite, python -m bot run killed", started, people, repeats, disruptions)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
        await emulator.aclose()
        await server.close()
        await database.dispose()


async def wait_drained(database: Database, within: float = 90.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with database.reader() as session:
            if not await outbox.backlog(session):
                return
        await asyncio.sleep(0.2)
    raise TimeoutError("the outbox did not drain")


# ------------------------------------------------------------------------------------------------ PostgreSQL


@pytest.fixture
async def shared(secrets: Secrets) -> AsyncIterator[tuple[Harness, DatabaseSwitch, list[BotApplication]]]:
    """A polling bot and two more workers on their own engines of one PostgreSQL database, reached through a
    switch: every worker's outbox sender competes for the rows."""
    async with switched_postgres() as (database, switch):
        emulator = Emulator(token=SANDBOX_TOKEN, seed=13)
        server = TestServer(create_sandbox_app(emulator), host="127.0.0.1")
        await server.start_server()
        harness = Harness(emulator, server, database, secrets)
        await harness.create_consultation()
        await harness.start_bot()
        others: list[tuple[Database, BotApplication]] = []
        for _ in range(WORKERS - 1):
            engine = Database(database.url, connect_timeout=10.0)
            service = ConversationService(engine, harness.library, secrets, delivery_reports=True)
            application = build_application(service, token=SANDBOX_TOKEN, base_url=harness.base_url)
            await application.initialize()
            await application.start()
            others.append((engine, application))
        try:
            assert harness.application is not None
            yield harness, switch, [harness.application, *(application for _, application in others)]
        finally:
            for engine, application in others:
                await application.stop()
                await application.shutdown()
                await engine.dispose()
            await harness.stop_bot()
            await emulator.aclose()
            await server.close()


pg = pytest.mark.postgres


@pg
async def test_200_conversations_on_three_workers_sharing_postgresql_through_an_outage(
    shared: tuple[Harness, DatabaseSwitch, list[BotApplication]], secrets: Secrets
) -> None:
    started = time.monotonic()
    h, switch, applications = shared
    rng = random.Random(8713)
    script_faults(h.emulator)
    direct = make_url(h.database.url).set(host=switch.host, port=switch.port).render_as_string(hide_password=False)
    behind = Database(direct)  # the test's own look at the server, not through the switch
    disruptions = Disruptions()
    done = asyncio.Event()

    async def outage() -> None:
        await asyncio.sleep(rng.uniform(10.0, 20.0))
        await switch.off()
        disruptions.held.append(await held_rows(behind))
        await asyncio.sleep(OUTAGE_SECONDS)
        await switch.on()

    try:
        away = asyncio.create_task(outage())
        storm = asyncio.create_task(storms(h.emulator, rng, done))
        people = await run_people(h.emulator, scripts(88))
        await away
        done.set()
        await storm
        await outbox_sender(applications[0]).drain(within=90)
        await asyncio.sleep(2)
        repeats = check_transcripts(people, disruptions)
        await check_answers(h.database, secrets, people)
        counts = [outbox_sender(application).delivered for application in applications]
        assert sum(1 for n in counts if n) == WORKERS, counts  # the work shared between the workers
        summary("PostgreSQL, 3 workers, outage", started, people, repeats, disruptions)
    finally:
        await behind.dispose()
