"""One participant's input → engine step → stored state and answers → replies, in one locked transaction.

The service is what every channel adapter calls: it takes neutral inputs (consultations.interactions) and
returns an Outcome. It loads what an update needs once (storage.conversations.load_turn), lets the engine
decide every change of the session (flows), and writes through storage functions only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, timedelta

from config.errors import StorageError
from config.help_resources import HelpResources
from config.i18n import available_languages, negotiate, t
from config.settings import Secrets
from consultations import rights, texts
from consultations.consent import consent_seal, seal_holds, with_seal
from consultations.interactions import (
    Action,
    Answer,
    AskDelete,
    AskHelp,
    AskLanguage,
    AskMyData,
    AskPrivacy,
    AskResults,
    Begin,
    ChooseLanguage,
    ConfirmDelete,
    Do,
    Exit,
    Incoming,
    LeaveChat,
    Option,
    Other,
    Outcome,
    PickLanguage,
    Press,
    Reply,
    ResultsOptIn,
    Said,
    Sender,
    ShowPrivacy,
    reply_data,
    well_formed,
    well_formed_sender,
)
from flows.engine import Engine, engine_for
from flows.events import (
    AnswerDiscarded,
    AnswerRecorded,
    Choice,
    ChoiceInput,
    Command,
    CommandInput,
    ConsentDeclined,
    ConsentGiven,
    Event,
    ExitRequested,
    FlowCompleted,
    Input,
    Notice,
    ShowMessage,
    ShowNotice,
    StaleInput,
    Start,
    Terms,
    TextInput,
    Timeout,
    Underage,
    UnsupportedInput,
)
from flows.loader import FlowLibrary
from flows.session import SessionState, Status
from flows.steps.base import EXIT
from storage import conversations, invites, outbox, privacy_ops
from storage import repository as repo
from storage.database import Database, DbSession
from storage.models import Consultation, ConversationSession, Invite, Participant
from storage.privacy import KeyRing, answer_context, pseudonym, redact

ResultsText = Callable[[DbSession, Consultation, str], Awaitable[str]]
"""What `/results` answers for a consultation, in a language (summaries.results.results_text, given by the caller:
the core does not make summaries)."""
ALL_STATUSES = tuple(Status)


class ConversationService:
    """The application core a channel adapter calls for each input of a participant."""

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
        results: ResultsText | None = None,
        delivery_reports: bool = False,
    ) -> None:
        self.db = database
        self.library = library
        self.pepper = secrets.pepper
        self.keys = KeyRing(secrets.keys)
        self.default_language = default_language
        self.max_text_length = max_text_length
        self.idle_hours = idle_hours
        self.help_resources = help_resources or HelpResources()
        self.results = results
        self.delivery_reports = delivery_reports
        """True when a sender reports what was delivered (bot/outbox.py): a new session then has no question on
        screen until its first one is delivered, and typed answers wait for it."""
        self.lease_owner: Callable[[], str | None] = lambda: None
        self.deliver_now: Callable[[list[outbox.Claimed]], None] | None = None
        """The outbox's fast lane (`attach_sender`): rows written leased to this worker's sender, handed to it
        (an empty list: rows were written that it must claim)."""

    def attach_sender(
        self, lease_owner: Callable[[], str | None], deliver_now: Callable[[list[outbox.Claimed]], None]
    ) -> None:
        """The channel's outbox sender in this process: an update's rows, when nothing else of the chat waits,
        are written leased to it (`lease_owner()` names it; None while it has no room, then the rows are left
        for any worker to claim) and handed to `deliver_now` once committed, so they are sent at once without
        being claimed (storage.outbox.enqueue)."""
        self.lease_owner, self.deliver_now = lease_owner, deliver_now

    async def handle(self, update_id: int | None, sender: Sender, incoming: Incoming) -> Outcome:
        """One input in one transaction, under the participant's lock. `update_id` (the channel's id of the
        input, when it has one) is claimed first: an input delivered twice is handled once."""
        key = pseudonym(self.pepper, sender.identity)
        sender, incoming = well_formed_sender(sender), well_formed(incoming)  # text that always encodes
        async with self.db.transaction(lock_key=key) as session:
            if update_id is not None and not await repo.claim_update(session, update_id):
                await outbox.resend_unsent(session, update_id)  # whatever of it is still unsent goes out again
                outcome, items, leased = Outcome(duplicate=True), [], []
            else:
                turn = Turn(self, session, key, sender)
                outcome = await turn.run(incoming)
                items = turn.deliveries(outcome, incoming)
                lease_to = turn.outbox_owner if turn.pending_elsewhere is False else None
                if lease_to is not None:
                    turn.shown(items)  # written with the session's state: its question goes out after commit
                await turn.record_message(incoming, outcome)
                leased = await outbox.enqueue(session, self.keys, key, update_id, items, lease_to=lease_to)
        if self.deliver_now is not None and (items or outcome.duplicate):
            self.deliver_now(leased)  # none leased: the sender looks for what is due
        return outcome

    async def remember_sent(self, sender: Sender, message_ids: list[int]) -> None:
        """Keep the ids of messages just sent to a participant (ids only, at most 48 h) for the safe exit."""
        if not message_ids:
            return
        key = pseudonym(self.pepper, sender.identity)
        async with self.db.transaction(lock_key=key) as session:
            await conversations.remember_messages(session, key, message_ids, from_bot=True)


class Turn:
    """The work of one input inside its transaction. What it works on is loaded once (`load`): the participant,
    a session and its consultation."""

    def __init__(self, service: ConversationService, session: DbSession, key: str, sender: Sender) -> None:
        self.service = service
        self.s = session
        self.key = key
        self.sender = sender
        self.participant: Participant | None = None
        self.row: ConversationSession | None = None
        self.consultation: Consultation | None = None
        self.pending_elsewhere: bool | None = None
        """Whether the chat has outbox rows waiting that this worker's sender does not hold (None: not known)."""
        self.outbox_owner: str | None = None
        """The worker whose sender takes this update's rows (the fast lane), when it has room."""
        self.known: bool | None = None
        """Whether the person had a participant row when the update came (None: not loaded)."""

    async def load(self, consultation_code: str | None = None) -> None:
        """The participant with their current session, or (given a code) with their session in that
        consultation; one statement."""
        if self.outbox_owner is None:  # asked once per update
            self.outbox_owner = self.service.lease_owner()
        owner = self.outbox_owner
        found = await conversations.load_turn(self.s, self.key, consultation_code, outbox_owner=owner)
        self.participant, self.row, self.consultation = found.participant, found.session, found.consultation
        self.pending_elsewhere = found.pending_elsewhere
        if self.known is None:
            self.known = found.participant is not None

    async def named(self, scope: str) -> Invite | None:
        """Load for the consultation a choice names (`scope`): by its own code, with the person's session in it
        (one statement, the common case). Without a session there, `scope` may be the invite code the consent
        message was shown for: then the consultation is looked up by invite, and the live invite returned."""
        await self.load(scope)
        if self.row is not None:
            return None
        found = await invites.consultation_for_invite(self.s, scope)
        if found is None:
            return None
        consultation, invite = found
        if self.consultation is None or self.consultation.id != consultation.id:
            self.consultation = consultation
            participant_id = self.participant.id if self.participant else None
            if participant_id is not None and consultation.id is not None:
                self.row = await repo.session_for(self.s, participant_id, consultation.id)
        return invite

    @property
    def language(self) -> str:
        """The language to answer in: the session's, else the one the participant chose, else their app's."""
        if self.row is not None:
            return self.row.language
        if self.participant is not None and self.participant.language:
            return self.participant.language
        return negotiate(self.sender.language_code, available_languages(), self.service.default_language)

    async def run(self, incoming: Incoming) -> Outcome:
        outcome = await self.dispatch(incoming)
        outcome.replies = [with_exit(reply) for reply in outcome.replies]
        outcome.language = self.language
        return outcome

    async def record_message(self, incoming: Incoming, outcome: Outcome) -> None:
        """The person's own message (or the one they chose on): its id only, at most 48 h, for the safe exit.
        The message chosen on is the bot's: kept when it was sent, unless it was sent before the person had a
        participant row (the consent message), so only then kept here."""
        participant_id = self.participant.id if self.participant is not None else None
        if isinstance(incoming, Press) and self.known:
            return
        if self.sender.message_id is not None and not outcome.delete_ids and participant_id is not None:
            await privacy_ops.record_sent_message(
                self.s, participant_id, self.sender.message_id, from_bot=isinstance(incoming, Press)
            )

    def shown(self, items: list[outbox.Item]) -> None:
        """The last question among the rows about to be sent counts as on screen from now (as a claimed row's
        does: storage.outbox.claim), written with the session's state rather than by a statement of its own."""
        row = self.row
        steps = [i.step for i in items if i.step is not None and row is not None and i.session_id == row.id]
        if row is not None and steps and row.shown_step != steps[-1]:
            conversations.set_shown_step(self.s, row, steps[-1])

    def deliveries(self, outcome: Outcome, incoming: Incoming) -> list[outbox.Item]:
        """What the outcome asks the channel to do, in order, as outbox items written in this transaction: the
        safe exit's deletions, then the replies (an edit of the message chosen on, where a reply replaces it).
        The address is the sender's identity: in a private chat, where to write. Stored channel-neutral (the
        channel renders a reply when it sends it)."""
        chat = self.sender.identity
        session_id = self.row.id if self.row is not None else None
        items: list[outbox.Item] = []
        if outcome.delete_ids:
            payload = {"chat": chat, "ids": outcome.delete_ids, "language": self.language}
            items.append(outbox.Item(outbox.DELETE, payload))
        pressed = self.sender.message_id if isinstance(incoming, Press) else None
        for reply in outcome.replies:
            payload = {"chat": chat, "reply": reply_data(reply)}
            kind = outbox.SEND
            if reply.replace and pressed is not None:
                kind, payload["message_id"] = outbox.EDIT, pressed
            items.append(outbox.Item(kind, payload, session_id, reply.step))
        return items

    async def dispatch(self, incoming: Incoming) -> Outcome:
        if isinstance(incoming, Begin):
            return await self.begin(incoming.code)
        if isinstance(incoming, Press):
            return await self.press(incoming.action)
        await self.load()
        if isinstance(incoming, AskHelp):
            return self.help()
        if isinstance(incoming, AskLanguage):
            return self.language_picker(self.consultation.code if self.consultation else "")
        if isinstance(incoming, AskPrivacy):
            await self.load_finished()  # with no session live, the consultation last taken part in
            return Outcome([texts.privacy_notice(self.language, self.consultation)])
        if isinstance(incoming, Exit):
            return await self.safe_exit()
        if isinstance(incoming, AskDelete):
            return rights.delete_prompt(self.language, has_data=self.participant is not None)
        if isinstance(incoming, AskResults):
            return await self.report_back()
        if isinstance(incoming, AskMyData):
            return await rights.my_data(self.s, self.key, self.service.keys, self.service.library, self.language)
        row = self.row
        if row is not None and row.status == Status.ACTIVE and self.idle(row):
            return await self.step(Timeout(self.service.idle_hours))
        if row is None or row.status != Status.ACTIVE:
            return await self.nothing_in_progress(incoming)
        return await self.step(engine_input(incoming))

    # ---- the cases ----

    async def begin(self, code: str | None) -> Outcome:
        if code is None:
            await self.load()
            if self.row is None:
                return await self.nothing_in_progress(Begin(None))
            return await self.step(Start())
        found = await invites.consultation_for_invite(self.s, code)
        if found is None or found[0].status != "open":
            await self.load()
            return Outcome([texts.invalid_invite(self.language)])
        consultation, invite = found
        await self.load(consultation.code)
        if self.row is not None:
            return await self.step(Start())
        return self.consent(consultation, invite.code, self.choose_language(consultation))

    def consent(self, consultation: Consultation, scope: str, language: str) -> Outcome:
        """The consent message (nothing is stored before the person agrees), naming who runs the consultation
        and how long answers are kept, and, where the consultation offers several languages, a way to change."""
        engine = self.engine(consultation)
        state = engine.new_session(language)
        replies = self.replies(engine.handle(state, Start(), terms(consultation)), scope, state.language)
        proof = consent_seal(self.service.pepper, self.key, scope, state.language)
        replies = [with_seal(reply, proof, state.language) for reply in replies]
        if replies:
            label = t(state.language, "Your privacy")
            privacy = Option(f"🔒 {label}", ShowPrivacy(scope, state.language))
            if len(consultation.language_list) > 1:
                change = Option(f"🌐 {texts.language_name(state.language)}", PickLanguage(scope))
                replies[-1] = with_controls(replies[-1], (change, privacy))
            else:
                replies[-1] = with_controls(replies[-1], (privacy,))
        return Outcome(replies)

    async def press(self, action: Action | None) -> Outcome:
        if action is None:
            await self.load()
            return stale()
        if isinstance(action, ChooseLanguage):
            return await self.choose(action.language, action.scope)
        if isinstance(action, PickLanguage):
            if action.scope:
                await self.named(action.scope)
            else:
                await self.load()
            return self.language_picker(action.scope)
        if isinstance(action, ConfirmDelete):
            await self.load()
            if not action.erase:
                return Outcome([Reply(t(self.language, "Nothing was deleted."), self.language)])
            outcome = await rights.delete_everything(self.s, self.key, self.language)
            self.participant = self.row = None
            return outcome
        if isinstance(action, ResultsOptIn):
            return await self.opt_in(action.code)
        if isinstance(action, ShowPrivacy):
            await self.named(action.scope)
            language = action.language if action.language in available_languages() else self.language
            return Outcome([texts.privacy_notice(language, self.consultation)])
        if isinstance(action, LeaveChat):
            await self.load()
            return await self.safe_exit()
        return await self.answer(action)

    async def answer(self, action: Answer) -> Outcome:
        """A choice of a flow step: the session goes on; without a session, only the consent can be answered,
        and nothing is stored unless the person agrees."""
        invite = await self.named(action.scope)
        consultation, row = self.consultation, self.row
        choice = ChoiceInput(action.step, action.token)
        if consultation is None:
            return stale()
        if row is not None:
            if row.status == Status.ACTIVE and self.idle(row):
                return await self.step(Timeout(self.service.idle_hours))
            return await self.step(choice)
        if consultation.status != "open" or invite is None:
            return stale()
        leaving = action.token == EXIT
        if not leaving and not seal_holds(self.service.pepper, self.key, action):
            return stale()  # a consent this person was never shown (a press made up without /start): refused
        offered = consultation.language_list
        language = action.language if action.language in offered else self.choose_language(consultation)
        engine = self.engine(consultation)
        state = engine.new_session(language)
        before = state.copy()
        events = engine.handle(state, choice, terms(consultation))
        if any(isinstance(e, StaleInput) for e in events):
            return stale()
        if any(isinstance(e, ExitRequested) for e in events):
            return await self.safe_exit()
        shown = answered(engine, before, choice, events, terms(consultation))
        if not any(isinstance(e, ConsentGiven) for e in events):
            return Outcome([*shown, *self.replies(events, action.scope, state.language)])
        if self.participant is None:
            self.participant = await conversations.create_participant(self.s, self.key, state.language)
        self.row = await conversations.start_session(
            self.s,
            participant=self.participant,
            consultation=consultation,
            invite_id=invite.id,
            state=state.state,
            status=state.status,
            language=state.language,
            context=state.to_json(),
            shown_step=outbox.NOT_SHOWN if self.service.delivery_reports else None,
        )
        await self.persist(self.row, consultation, events)
        return Outcome([*shown, *self.replies(events, consultation.code, state.language)])

    async def step(self, given: Input) -> Outcome:
        """Step the loaded session with one input, store what the engine decided, and reply."""
        row, consultation = self.row, self.consultation
        if row is None or consultation is None or consultation.id != row.consultation_id:
            raise RuntimeError("step() needs a loaded session and its consultation")  # a bug in this module
        leaving = isinstance(given, ChoiceInput) and given.token == EXIT
        if consultation.status != "open" and not leaving:
            return Outcome([texts.consultation_closed(row.language)])
        engine = self.engine(consultation, row)
        state = SessionState.from_row(row.state, row.language, row.status, row.context)
        if not self.on_screen(engine, state, given):
            # typed for a question the person has not been shown yet: the current question again, nothing applied
            return Outcome(self.replies([engine.prompt(state, terms(consultation))], consultation.code, state.language))
        before = state.copy()
        events = engine.handle(state, given, terms(consultation))
        if any(isinstance(e, StaleInput) for e in events):
            return stale()
        if any(isinstance(e, ExitRequested) for e in events):
            return await self.safe_exit()
        shown = answered(engine, before, given, events, terms(consultation))
        if any(isinstance(e, Underage) for e in events):
            # Under 18: nothing they gave is kept (ILO-IPEC); they get help resources only.
            await privacy_ops.erase_participant(self.s, self.key)
            self.participant = self.row = None
            replies = [*shown, *self.replies(events, consultation.code, state.language)]
            # ...and the way to wipe the chat, as on every other screen they saw
            wipe = Option(t(state.language, "Exit and clear chat"), LeaveChat())
            last = with_controls(
                texts.help_resources(self.service.help_resources, consultation, state.language), (wipe,)
            )
            return Outcome([*replies, last])
        await self.persist(row, consultation, events, state)
        replies = [*shown, *self.replies(events, consultation.code, state.language)]
        if any(isinstance(e, FlowCompleted) for e in events) and replies:
            results = Option(t(state.language, "Tell me when the results are out"), ResultsOptIn(consultation.code))
            replies[-1] = with_controls(replies[-1], (results,))
        return Outcome(replies)

    def on_screen(self, engine: Engine, state: SessionState, given: Input) -> bool:
        """Whether a typed answer or /skip may apply to the current question: only when it is the question last
        delivered to the person (known when the channel reports deliveries; `shown_step` None: not known)."""
        shown = self.row.shown_step if self.row is not None else None
        typed = isinstance(given, TextInput) or (isinstance(given, CommandInput) and given.command == Command.SKIP)
        if shown is None or not typed or state.finished:
            return True
        return shown == engine.flow.steps.index(engine.step_of(state))

    def language_picker(self, scope: str) -> Outcome:
        """The languages of the consultation named (or being answered), else every language there is."""
        offered = self.consultation.language_list if self.consultation else available_languages()
        options = tuple(Option(texts.language_name(x), ChooseLanguage(x, scope)) for x in offered)
        return Outcome([Reply(t(self.language, "Choose your language:"), self.language, options=options)])

    async def choose(self, language: str, scope: str) -> Outcome:
        """A language was chosen: remembered for the participant (pseudonym only), and the current question
        (or the consent message) shown again in it, with no answer lost."""
        invite = await self.named(scope) if scope else None
        named = self.consultation if scope else None
        if named is None:
            await self.load()  # no consultation named: the current session's
        offered = named.language_list if named is not None else available_languages()
        if language not in offered:
            return stale()
        if self.participant is not None:
            await conversations.set_participant_language(self.s, self.participant, language)
        row, consultation = self.row, self.consultation
        if row is not None and consultation is not None and row.status not in (Status.COMPLETED, Status.DECLINED):
            if language in consultation.language_list:
                await conversations.set_session_language(self.s, row, language)
            state = SessionState.from_row(row.state, row.language, row.status, row.context)
            prompt = self.engine(consultation, row).prompt(state)
            return Outcome(self.replies([prompt], consultation.code, state.language))
        if named is not None and row is None:
            return self.consent(named, invite.code if invite else named.code, language)
        return Outcome([Reply(t(language, "Language changed."), language)])

    async def opt_in(self, code: str) -> Outcome:
        """ "Tell me when the results are out": offered at the end of a consultation, so taken only from someone
        who finished that consultation (a press naming another one is refused, and nothing is stored)."""
        await self.load(code)
        participant, consultation, row = self.participant, self.consultation, self.row
        if participant is None or participant.id is None or consultation is None or consultation.id is None:
            return stale()
        if row is None or row.consultation_id != consultation.id or row.status != Status.COMPLETED:
            return stale()
        await rights.opt_in(self.s, participant.id, consultation.id, self.sender.identity, self.service.keys)
        return rights.opted_in(self.language)

    async def report_back(self) -> Outcome:
        """`/results`: the latest publication of the consultation the person last took part in, the same text
        for everyone who asks (nothing in it depends on how or whether this person answered)."""
        row = self.row
        if row is None and self.participant is not None and self.participant.id is not None:
            row = await repo.current_session(self.s, self.participant.id, statuses=ALL_STATUSES)
        consultation = self.consultation
        if row is not None and (consultation is None or consultation.id != row.consultation_id):
            consultation = await repo.consultation_by_id(self.s, row.consultation_id)
        if consultation is None:
            return Outcome([texts.welcome(self.language)])
        if self.service.results is None:
            return Outcome([texts.results_later(self.language)])
        return Outcome([Reply(await self.service.results(self.s, consultation, self.language), self.language)])

    async def safe_exit(self) -> Outcome:
        """Delete every message of the chat the channel still may (Telegram: younger than 48 h), both sides; end
        the session for now. The deletion goes through the outbox, retried until done; the message ids are
        forgotten only once deleted. Nothing is sent afterwards: the chat is left empty."""
        participant_id = self.participant.id if self.participant is not None else None
        ids = await rights.exit_ids(self.s, participant_id, self.sender.message_id)
        if not ids:
            return Outcome()
        if self.row is not None:
            state = SessionState.from_row(self.row.state, self.row.language, self.row.status, self.row.context)
            state.leave()
            if state.status != self.row.status:
                await self.save(self.row, state)
        return Outcome(delete_ids=ids)

    def help(self) -> Outcome:
        lang = self.language
        return Outcome(
            [texts.help_text(lang), texts.help_resources(self.service.help_resources, self.consultation, lang)]
        )

    async def nothing_in_progress(self, incoming: Incoming) -> Outcome:
        """An input for a question when none is being asked: said for what it is. A session paused (stopped,
        quiet too long) is continued by /start; after the end of a consultation there is nothing to skip or go
        back to, and /mydata shows the answers; someone who never took part needs an invite."""
        lang = self.language
        replies = [Reply(language=lang, notice=Notice.TEXT_AND_CHOICES_ONLY)] if isinstance(incoming, Other) else []
        if self.row is not None:
            replies.append(texts.paused(lang))
        elif await self.load_finished() is not None:
            replies.append(texts.finished(lang, incoming.command if isinstance(incoming, Do) else None))
        else:
            replies.append(texts.welcome(lang))
        return Outcome(replies)

    async def load_finished(self) -> ConversationSession | None:
        """When no session is live: the participant's most recently finished one, its consultation loaded."""
        participant = self.participant
        if self.row is not None or participant is None or participant.id is None:
            return None
        finished = await repo.current_session(self.s, participant.id, (Status.COMPLETED,))
        if finished is not None and self.consultation is None:
            self.consultation = await repo.consultation_by_id(self.s, finished.consultation_id)
        return finished

    # ---- helpers ----

    def idle(self, row: ConversationSession) -> bool:
        updated = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=UTC)
        return repo.now() - updated > timedelta(hours=self.service.idle_hours)

    def engine(self, consultation: Consultation, row: ConversationSession | None = None) -> Engine:
        """The engine of the session's flow version, or (before a session exists) the consultation's."""
        flow_id, version = (row.flow_id, row.flow_version) if row else (consultation.flow_id, consultation.flow_version)
        return engine_for(self.service.library.get(flow_id, version), self.service.max_text_length)

    def choose_language(self, consultation: Consultation) -> str:
        offered = consultation.language_list
        if self.participant is not None and self.participant.language in offered:
            return self.participant.language
        return negotiate(self.sender.language_code, offered, consultation.default_language)

    async def persist(
        self,
        row: ConversationSession,
        consultation: Consultation,
        events: list[Event],
        state: SessionState | None = None,
    ) -> None:
        """Store what the engine decided: consent records, answers (free text redacted, then encrypted), answers
        that no longer apply removed, and (`state`) where the session now is."""
        if consultation.id is None or row.id is None:
            raise RuntimeError("persist() needs saved rows")  # a bug in this module
        discarded: list[str] = []
        for event in events:
            if isinstance(event, ConsentGiven):
                await repo.record_consent(self.s, row.participant_id, consultation.id, event.version)
            elif isinstance(event, AnswerRecorded):
                await repo.upsert_answer(self.s, row, self.answer_value(consultation, row, event))
            elif isinstance(event, AnswerDiscarded):
                discarded.append(event.question_id)
        await repo.delete_answers(self.s, row.id, discarded)
        if state is not None:
            await self.save(row, state)

    async def save(self, row: ConversationSession, state: SessionState) -> None:
        await conversations.save_state(
            self.s, row, state=state.state, status=state.status, language=state.language, context=state.to_json()
        )

    def answer_value(
        self, consultation: Consultation, row: ConversationSession, event: AnswerRecorded
    ) -> repo.AnswerValue:
        """Codes as they are; free text redacted (then cut to its limit), then encrypted bound to its row
        (consultation, participant, session, question), so a ciphertext copied onto another row fails instead of
        being shown there."""
        if event.text is None:
            return repo.AnswerValue(event.question_id, codes=event.codes, skipped=event.skipped)
        if consultation.id is None or row.id is None:
            raise StorageError("an answer needs a saved consultation and session")
        step = next((s for s in self.engine(consultation, row).flow.steps if s.id == event.question_id), None)
        cleaned = redact(event.text, consultation.country, keep_links=step is not None and step.keep_links)
        cleaned = cleaned[: event.limit]  # after the redaction: nothing it would catch is cut in two and kept
        context = answer_context(consultation.id, row.participant_id, row.id, event.question_id)
        cipher, key_id = self.service.keys.encrypt(cleaned, context)
        return repo.AnswerValue(event.question_id, text_cipher=cipher, key_id=key_id)

    def replies(self, events: list[Event], scope: str, language: str) -> list[Reply]:
        return replies(events, scope, language)


def replies(events: list[Event], scope: str, language: str) -> list[Reply]:
    """The messages among the engine's events, as replies whose choices carry neutral actions; `scope` names the
    consultation in them (its code, or the invite code on the consent message)."""
    out = []
    for event in events:
        if isinstance(event, ShowNotice):
            out.append(Reply(language=language, notice=event.notice))
        elif isinstance(event, ShowMessage):
            step = event.step_index

            def option(choice: Choice, step: int | None = step) -> Option:
                if choice.token == EXIT:
                    return Option(choice.label, LeaveChat())
                if step is None:
                    raise RuntimeError("the engine offered choices outside a step")  # an engine bug
                return Option(choice.label, Answer(scope, step, choice.token), choice.number, choice.selected)

            out.append(
                Reply(
                    event.text,
                    language,
                    options=tuple(option(c) for c in event.options),
                    controls=tuple(tuple(option(c) for c in group) for group in event.controls),
                    replace=event.replace,
                    step=step,
                )
            )
    return out


def answered(engine: Engine, before: SessionState, given: Input, events: list[Event], terms: Terms) -> list[Reply]:
    """The question a choice was just made on, as it should stay on screen: its text and the choice made, and
    no buttons left that look alive. An edit of the message chosen on (`replace`), never a new message; none
    when the choice did not answer the question (a page turned, an option ticked, a stale press)."""
    if not isinstance(given, ChoiceInput) or before.finished:
        return []
    step = engine.step_of(before)
    if engine.flow.steps.index(step) != given.step_index:
        return []
    recorded = next((e for e in events if isinstance(e, AnswerRecorded) and e.question_id == step.id), None)
    if recorded is None and not any(isinstance(e, ConsentDeclined | Underage) for e in events):
        return []
    language = before.language
    question = engine.prompt(before.copy(), terms)
    pressed = next((c.label for c in question.choices if c.token == given.token), "")
    codes = recorded.codes if recorded is not None and recorded.codes else ()
    labels = engine.answer_labels(step.id, language) if codes else {}  # choice steps' options, by code
    if recorded is not None and recorded.skipped:
        skipped = t(language, "Question skipped")
        mark = f"⏭ {skipped}"
    elif labels:
        mark = "✅ " + ", ".join(labels.get(code, code) for code in codes)
    else:
        mark = f"✅ {pressed}"  # the consent's "I agree" or "Not now", an OK, under 18
    return [Reply(f"{question.text}\n\n{mark}", language, replace=True)]


def engine_input(incoming: Incoming) -> Input:
    """Text, a command or something unreadable, as the engine's input."""
    if isinstance(incoming, Said):
        return TextInput(incoming.text)
    if isinstance(incoming, Do):
        return CommandInput(incoming.command)
    if isinstance(incoming, Other):
        return UnsupportedInput(incoming.kind)
    raise TypeError(f"{type(incoming).__name__} is not an input for the engine")


def terms(consultation: Consultation) -> Terms:
    return Terms(
        retention_days=consultation.retention_days,
        organisation=consultation.organisation,
        min_cell=consultation.min_cell,
    )


def stale() -> Outcome:
    """A choice from an earlier message, or one the core cannot use: nothing changes, and the person is told."""
    return Outcome(note=Notice.EARLIER_QUESTION)


def with_exit(reply: Reply) -> Reply:
    """Every message with choices offers "Exit and clear chat", whatever made it (a question, the consent, the
    languages, the end, a confirmation): the way out is on every screen that has buttons."""
    if not reply.choices or any(is_exit(option.action) for option in reply.choices):
        return reply
    return with_controls(reply, (Option(t(reply.language, "Exit and clear chat"), LeaveChat()),))


def is_exit(action: Action) -> bool:
    """The safe exit: its own action, or (on messages sent before it had one) a step's exit choice."""
    return isinstance(action, LeaveChat) or (isinstance(action, Answer) and action.token == EXIT)


def with_controls(reply: Reply, *groups: tuple[Option, ...]) -> Reply:
    return replace(reply, controls=(*reply.controls, *groups))
