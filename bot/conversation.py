"""One participant's input → engine step → stored state and answers → replies, in one locked transaction."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, timedelta

from babel import Locale, UnknownLocaleError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import rights
from bot.interactions import (
    AskDelete,
    AskHelp,
    AskLanguage,
    AskMyData,
    AskPrivacy,
    Begin,
    Do,
    Exit,
    Incoming,
    Other,
    Outcome,
    Person,
    Press,
    Reply,
    Said,
)
from config.errors import StorageError
from config.help_resources import HelpResources, stored_entries
from config.i18n import available_languages, negotiate, t, tn
from config.settings import Secrets
from flows.engine import Engine, engine_for
from flows.events import (
    AnswerDiscarded,
    AnswerRecorded,
    ChoiceInput,
    CommandInput,
    ConsentGiven,
    Event,
    ExitRequested,
    FlowCompleted,
    Input,
    ShowMessage,
    StaleInput,
    Start,
    TextInput,
    Timeout,
    Underage,
    UnsupportedInput,
)
from flows.loader import FlowLibrary
from flows.session import SessionState, Status
from flows.steps.base import EXIT
from storage import privacy_ops
from storage import repository as repo
from storage.database import Database
from storage.models import Consultation, ConversationSession, Participant
from storage.privacy import KeyRing, answer_context, pseudonym, redact

CALLBACK_PATTERN = re.compile(r"^([A-Za-z0-9_-]{1,16})\.(\d{1,4})\.([a-z0-9]{1,4})$")
LANGUAGE_PATTERN = re.compile(r"^L:([a-z]{2,3}|pick):([A-Za-z0-9_-]{0,16})$")
"""Language buttons: `L:<lang>:<consultation code>` chooses, `L:pick:<code>` opens the picker."""


__all__ = [
    "AskDelete",
    "AskHelp",
    "AskLanguage",
    "AskMyData",
    "AskPrivacy",
    "Begin",
    "ConversationService",
    "Do",
    "Exit",
    "Incoming",
    "Other",
    "Outcome",
    "Person",
    "Press",
    "Reply",
    "Said",
]


class ConversationService:
    """The application core the Telegram adapter calls for each update."""

    def __init__(
        self,
        database: Database,
        library: FlowLibrary,
        secrets: Secrets,
        *,
        default_language: str = "en",
        max_text_length: int = 2000,
        idle_hours: int = 72,
        help_resources: HelpResources | None = None,
    ) -> None:
        self.db = database
        self.library = library
        self.pepper = secrets.pepper
        self.keys = KeyRing(secrets.keys)
        self.default_language = default_language
        self.max_text_length = max_text_length
        self.idle_hours = idle_hours
        self.help_resources = help_resources or HelpResources()

    async def handle(self, update_id: int | None, person: Person, incoming: Incoming) -> Outcome:
        key = pseudonym(self.pepper, person.user_id)
        async with self.db.transaction(lock_key=key) as session:
            if update_id is not None and not await repo.claim_update(session, update_id):
                return Outcome(duplicate=True)
            turn = _Turn(self, session, key, person)
            return await turn.run(incoming)

    async def remember_sent(self, person: Person, message_ids: list[int]) -> None:
        """Keep the ids of messages just sent to a participant (ids only, at most 48 h) for the safe exit."""
        if not message_ids:
            return
        key = pseudonym(self.pepper, person.user_id)
        async with self.db.transaction(lock_key=key) as session:
            participant = await repo.participant_by_pseudonym(session, key)
            if participant is not None and participant.id is not None:
                await privacy_ops.record_sent_messages(session, participant.id, message_ids, from_bot=True)


class _Turn:
    """The work of one update inside its transaction."""

    def __init__(self, service: ConversationService, session: AsyncSession, key: str, person: Person) -> None:
        self.service = service
        self.s = session
        self.key = key
        self.person = person

    def fallback_language(self, participant: Participant | None) -> str:
        if participant is not None and participant.language:
            return participant.language
        return negotiate(self.person.language_code, available_languages(), self.service.default_language)

    async def run(self, incoming: Incoming) -> Outcome:
        outcome = await self.dispatch(incoming)
        if self.person.message_id is not None and not outcome.delete_ids:
            # the person's own message: kept (its id only, at most 48 h) so the safe exit can delete it
            participant = await repo.participant_by_pseudonym(self.s, self.key)
            if participant is not None and participant.id is not None:
                await privacy_ops.record_sent_message(
                    self.s, participant.id, self.person.message_id, from_bot=isinstance(incoming, Press)
                )
        return outcome

    async def dispatch(self, incoming: Incoming) -> Outcome:
        participant = await repo.participant_by_pseudonym(self.s, self.key)
        if isinstance(incoming, Begin):
            return await self.begin(participant, incoming.code)
        if isinstance(incoming, Press):
            return await self.press(participant, incoming.data)
        if isinstance(incoming, AskHelp):
            return await self.help(participant)
        row = await repo.current_session(self.s, participant.id) if participant and participant.id else None
        if isinstance(incoming, AskLanguage):
            return await self.language_picker(participant, row)
        if isinstance(incoming, AskPrivacy):
            return await self.privacy(participant, row)
        lang = row.language if row else self.fallback_language(participant)
        if isinstance(incoming, Exit):
            return await rights.safe_exit(self.s, participant, self.person, row)
        if isinstance(incoming, AskDelete):
            return rights.delete_prompt(lang, has_data=participant is not None)
        if isinstance(incoming, AskMyData):
            return await rights.my_data(self.s, self.key, self.service.keys, self.service.library, lang)
        if row is not None and row.status == Status.ACTIVE and self.idle(row):
            return await self.step(row, Timeout(self.service.idle_hours))
        if row is None or row.status != Status.ACTIVE:
            return self.nothing_in_progress(lang, paused=row is not None, incoming=incoming)
        if isinstance(incoming, Said):
            return await self.step(row, TextInput(incoming.text))
        if isinstance(incoming, Do):
            return await self.step(row, CommandInput(incoming.command))
        assert isinstance(incoming, Other)
        return await self.step(row, UnsupportedInput(incoming.kind))

    # ---- the cases ----

    async def begin(self, participant: Participant | None, code: str | None) -> Outcome:
        if code is None:
            row = await repo.current_session(self.s, participant.id) if participant and participant.id else None
            if row is None:
                lang = self.fallback_language(participant)
                return Outcome([Reply(t(lang, "Welcome. To take part, please open the invite link you were given."))])
            return await self.step(row, Start())
        consultation = await repo.consultation_by_code(self.s, code)
        if consultation is None or consultation.status != "open":
            lang = self.fallback_language(participant)
            text = t(
                lang,
                "This invite link is not valid, or the consultation has closed. "
                "Please ask the organisation that shared it with you for a new link.",
            )
            return Outcome([Reply(text)])
        row = await self.session_for(participant, consultation)
        if row is not None:
            return await self.step(row, Start())
        return self.consent(participant, consultation, self.choose_language(participant, consultation))

    def consent(self, participant: Participant | None, consultation: Consultation, language: str) -> Outcome:
        """The consent message (nothing is stored before the person agrees), with who runs the consultation
        and, where the consultation offers several languages, a one-tap way to change language."""
        engine = self.engine(consultation)
        state = engine.new_session(language)
        replies = self.replies(consultation, engine.handle(state, Start()))
        if replies:
            header = [
                tn(
                    state.language,
                    "Your answers are kept until %(n)s day after the consultation closes; then only the totals remain.",
                    "Your answers are kept until %(n)s days after the consultation closes; then only the totals "
                    "remain.",
                    consultation.retention_days,
                )
            ]
            if consultation.organisation:
                run_by = t(
                    state.language,
                    "This consultation is run by %(organisation)s.",
                    organisation=consultation.organisation,
                )
                header.insert(0, run_by)
            body, _, question = replies[-1].text.rpartition("\n\n")
            text = f"{body}\n\n{' '.join(header)}\n\n{question}" if body else f"{' '.join(header)}\n\n{question}"
            replies[-1] = replace(replies[-1], text=text)
        if len(consultation.language_list) > 1 and replies:
            row = ((f"🌐 {language_name(state.language)}", f"L:pick:{consultation.code}"),)
            replies[-1] = replace(replies[-1], keyboard=(*replies[-1].keyboard, row))
        return Outcome(replies)

    async def press(self, participant: Participant | None, data: str) -> Outcome:
        if language := LANGUAGE_PATTERN.match(data):
            return await self.choose(participant, language.group(1), language.group(2))
        lang = self.fallback_language(participant)
        if data == rights.DELETE_YES:
            return await rights.delete_everything(self.s, self.key, lang)
        if data == rights.DELETE_NO:
            return Outcome([Reply(t(lang, "Nothing was deleted."))])
        if data.startswith(rights.RESULTS_PREFIX):
            consultation = await repo.consultation_by_code(self.s, data.removeprefix(rights.RESULTS_PREFIX))
            return await rights.opt_in(self.s, participant, consultation, self.person, self.service.keys, lang)
        match = CALLBACK_PATTERN.match(data)
        consultation = await repo.consultation_by_code(self.s, match.group(1)) if match else None
        if match is None or consultation is None:
            return self.stale(self.fallback_language(participant))
        choice = ChoiceInput(int(match.group(2)), match.group(3))
        row = await self.session_for(participant, consultation)
        if row is not None:
            if row.status == Status.ACTIVE and self.idle(row):
                return await self.step(row, Timeout(self.service.idle_hours))
            if row.status in (Status.PAUSED, Status.STOPPED, Status.EXPIRED):
                row.status = Status.ACTIVE  # pressing the current question's button carries on
            return await self.step(row, choice)
        if consultation.status != "open":
            return self.stale(self.fallback_language(participant))
        # No session yet: only the consent step can be answered, and nothing is stored unless they agree.
        engine = self.engine(consultation)
        state = engine.new_session(self.choose_language(participant, consultation))
        events = engine.handle(state, choice)
        if any(isinstance(e, StaleInput) for e in events):
            return self.stale(state.language)
        if any(isinstance(e, ExitRequested) for e in events):
            return await rights.safe_exit(self.s, participant, self.person, None)
        if not any(isinstance(e, ConsentGiven) for e in events):
            return Outcome(self.replies(consultation, events))
        participant = await repo.get_or_create_participant(self.s, self.key, state.language)
        assert participant.id is not None and consultation.id is not None
        row = ConversationSession(
            participant_id=participant.id,
            consultation_id=consultation.id,
            flow_id=consultation.flow_id,
            flow_version=consultation.flow_version,
            state=state.state,
            status=state.status,
            language=state.language,
            context=state.to_json(),
            started_at=repo.now(),
            updated_at=repo.now(),
        )
        row = await repo.save_session(self.s, row)
        await self.persist(consultation, row, state, events)
        return Outcome(self.replies(consultation, events))

    async def step(self, row: ConversationSession, given: Input) -> Outcome:
        consultation = await repo.consultation_by_id(self.s, row.consultation_id)
        assert consultation is not None
        leaving = isinstance(given, ChoiceInput) and given.token == EXIT
        if consultation.status != "open" and not leaving:
            text = t(
                row.language,
                "This consultation has closed, so no more answers can be given. Thank you for taking part.",
            )
            return Outcome([Reply(text)])
        engine = self.engine(consultation, row)
        state = SessionState.from_row(row.state, row.language, row.status, row.context)
        events = engine.handle(state, given)
        if any(isinstance(e, StaleInput) for e in events):
            return self.stale(state.language)
        if any(isinstance(e, ExitRequested) for e in events):
            participant = await repo.participant_by_pseudonym(self.s, self.key)
            return await rights.safe_exit(self.s, participant, self.person, row)
        if any(isinstance(e, Underage) for e in events):
            # Under 18: nothing they gave is kept (ILO-IPEC); they get help resources only.
            await privacy_ops.erase_participant(self.s, self.key)
            return Outcome([*self.replies(consultation, events), *self.help_resources(consultation, state.language)])
        await self.persist(consultation, row, state, events)
        replies = self.replies(consultation, events)
        if any(isinstance(e, FlowCompleted) for e in events) and replies:
            button = (
                t(state.language, "Tell me when the results are out"),
                f"{rights.RESULTS_PREFIX}{consultation.code}",
            )
            replies[-1] = replace(replies[-1], keyboard=(*replies[-1].keyboard, (button,)))
        return Outcome(replies)

    async def language_picker(
        self, participant: Participant | None, row: ConversationSession | None, code: str | None = None
    ) -> Outcome:
        lang = row.language if row else self.fallback_language(participant)
        consultation = await repo.consultation_by_id(self.s, row.consultation_id) if row else None
        if consultation is None and code:
            consultation = await repo.consultation_by_code(self.s, code)
        offered = consultation.language_list if consultation else available_languages()
        scope = consultation.code if consultation else ""
        buttons = [(language_name(x), f"L:{x}:{scope}") for x in offered]
        rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
        return Outcome([Reply(t(lang, "Choose your language:"), rows)])

    async def choose(self, participant: Participant | None, language: str, code: str) -> Outcome:
        """A language was chosen: remembered for the participant (pseudonym only), and the current question
        (or the consent message) shown again in it, with no answer lost."""
        if language == "pick":
            row = await repo.current_session(self.s, participant.id) if participant and participant.id else None
            return await self.language_picker(participant, row, code)
        consultation = await repo.consultation_by_code(self.s, code) if code else None
        if consultation is not None and language not in consultation.language_list:
            return self.stale(self.fallback_language(participant))
        if consultation is None and language not in available_languages():
            return self.stale(self.fallback_language(participant))
        if participant is not None:
            participant.language = language
            self.s.add(participant)
        row = await self.session_for(participant, consultation) if consultation else None
        if row is None and participant is not None and participant.id is not None and consultation is None:
            row = await repo.current_session(self.s, participant.id)
        if row is not None and row.status not in (Status.COMPLETED, Status.DECLINED):
            session_consultation = await repo.consultation_by_id(self.s, row.consultation_id)
            assert session_consultation is not None
            if language in session_consultation.language_list:
                row.language = language
                await repo.save_session(self.s, row)
            state = SessionState.from_row(row.state, row.language, row.status, row.context)
            engine = self.engine(session_consultation, row)
            return Outcome(self.replies(session_consultation, [engine.prompt(state)]))
        if consultation is not None and row is None:
            return self.consent(participant, consultation, language)
        return Outcome([Reply(t(language, "Language changed."))])

    async def privacy(self, participant: Participant | None, row: ConversationSession | None) -> Outcome:
        lang = row.language if row else self.fallback_language(participant)
        consultation = await repo.consultation_by_id(self.s, row.consultation_id) if row else None
        organisation = (consultation.organisation if consultation else None) or t(
            lang, "the organisation that shared the link with you"
        )
        text = t(
            lang,
            "Your privacy\n\n"
            "• Who: this consultation is run by %(organisation)s. Reviewers only ever see totals, never who said "
            "what, and never a number smaller than 5.\n"
            "• What is kept: your answers, and a code made from your Telegram account that cannot be turned back "
            "into it. Never your name, username, phone number or Telegram id. Phone numbers, e-mails and links "
            "you write are removed, and written answers are locked (encrypted).\n"
            "• Where and how long: on the organisation’s server, until some time after the consultation closes; "
            "then only the totals are kept.\n"
            "• Your rights: /mydata shows what is kept about you, /delete erases it, /exit clears this chat.\n"
            "• Telegram chats with bots are not end-to-end encrypted.",
            organisation=organisation,
        )
        if consultation is not None and consultation.contact:
            text += "\n\n" + t(lang, "Contact: %(contact)s", contact=consultation.contact)
        return Outcome([Reply(text)])

    def idle(self, row: ConversationSession) -> bool:
        updated = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=UTC)
        return repo.now() - updated > timedelta(hours=self.service.idle_hours)

    async def help(self, participant: Participant | None) -> Outcome:
        row = await repo.current_session(self.s, participant.id) if participant and participant.id else None
        lang = row.language if row else self.fallback_language(participant)
        consultation = await repo.consultation_by_id(self.s, row.consultation_id) if row else None
        text = t(
            lang,
            "This bot collects private views on your country’s plan to end forced labour, "
            "human trafficking and child labour.\n\n"
            "/start – begin or continue\n/skip – skip the current question\n"
            "/back – go back to the previous question\n/pause – take a break; /resume goes on\n"
            "/stop – stop now; your answers so far are kept\n/language – change language\n"
            "/exit – delete this chat now\n/mydata – see what is kept about you\n"
            "/delete – erase everything you gave\n/privacy – how your answers are protected\n"
            "/help – this message",
        )
        return Outcome([Reply(text), *self.help_resources(consultation, lang)])

    def help_resources(self, consultation: Consultation | None, lang: str) -> list[Reply]:
        """Help contacts configured by the organisation for this consultation or country (never invented)."""
        found = self.service.help_resources.resources_for(
            consultation.country if consultation else None,
            consultation.code if consultation else None,
            lang,
            extra=stored_entries(consultation.help_resources) if consultation else (),
        )
        if not found:
            return [
                Reply(
                    t(lang, "If you need help or support, please ask the organisation that shared the link with you.")
                )
            ]
        lines = [t(lang, "If you need help or support, you can contact:")]
        for resource in found:
            parts = [f"• {resource.name}"]
            parts += [x for x in (resource.phone, resource.url, resource.hours, resource.note) if x]
            lines.append("\n   ".join(parts))
        return [Reply("\n".join(lines))]

    def nothing_in_progress(self, lang: str, *, paused: bool, incoming: Incoming) -> Outcome:
        replies = []
        if isinstance(incoming, Other):
            replies.append(Reply(t(lang, "Sorry, I can only read text and buttons here.")))
        if paused:
            replies.append(Reply(t(lang, "You have paused. Send /start to continue from the same question.")))
        else:
            replies.append(Reply(t(lang, "Welcome. To take part, please open the invite link you were given.")))
        return Outcome(replies)

    def stale(self, lang: str) -> Outcome:
        return Outcome(callback_note=t(lang, "This button belongs to an earlier question."))

    # ---- helpers ----

    def engine(self, consultation: Consultation, row: ConversationSession | None = None) -> Engine:
        flow_id, version = (row.flow_id, row.flow_version) if row else (consultation.flow_id, consultation.flow_version)
        return engine_for(self.service.library.get(flow_id, version), self.service.max_text_length)

    def choose_language(self, participant: Participant | None, consultation: Consultation) -> str:
        offered = consultation.language_list
        if participant is not None and participant.language in offered:
            return participant.language
        return negotiate(self.person.language_code, offered, consultation.default_language)

    async def session_for(
        self, participant: Participant | None, consultation: Consultation
    ) -> ConversationSession | None:
        if participant is None or participant.id is None or consultation.id is None:
            return None
        return await repo.session_for(self.s, participant.id, consultation.id)

    async def persist(
        self, consultation: Consultation, row: ConversationSession, state: SessionState, events: list[Event]
    ) -> None:
        discarded: list[str] = []
        for event in events:
            if isinstance(event, ConsentGiven):
                assert consultation.id is not None
                await repo.record_consent(self.s, row.participant_id, consultation.id, event.version)
            elif isinstance(event, AnswerRecorded):
                await repo.upsert_answer(self.s, row, self.answer_value(consultation, row, event))
            elif isinstance(event, AnswerDiscarded):
                discarded.append(event.question_id)
        assert row.id is not None
        await repo.delete_answers(self.s, row.id, discarded)
        row.state = state.state
        row.status = state.status
        row.language = state.language
        row.context = state.to_json()
        await repo.save_session(self.s, row)

    def answer_value(
        self, consultation: Consultation, row: ConversationSession, event: AnswerRecorded
    ) -> repo.AnswerValue:
        if event.text is None:
            return repo.AnswerValue(event.question_id, codes=event.codes, skipped=event.skipped)
        if consultation.id is None or row.id is None:
            raise StorageError("an answer needs a saved consultation and session")
        cleaned = redact(event.text, consultation.country)
        context = answer_context(consultation.id, row.participant_id, row.id, event.question_id)
        cipher, key_id = self.service.keys.encrypt(cleaned, context)
        return repo.AnswerValue(event.question_id, text_cipher=cipher, key_id=key_id)

    def replies(self, consultation: Consultation, events: list[Event]) -> list[Reply]:
        out = []
        for event in events:
            if not isinstance(event, ShowMessage):
                continue
            keyboard = tuple(
                tuple((b.label, f"{consultation.code}.{event.step_index}.{b.token}") for b in row)
                for row in event.buttons
            )
            out.append(Reply(event.text, keyboard, replace=event.replace))
        return out


def language_name(code: str) -> str:
    """A language's name in itself ("Français", "العربية", "Kiswahili"), for language buttons."""
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:]
