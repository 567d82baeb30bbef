"""The engine: one neutral input + a session state in, events out. No I/O, no Telegram, no SQL."""

from __future__ import annotations

from config.i18n import t
from flows.events import (
    AnswerRecorded,
    ChoiceInput,
    Command,
    CommandInput,
    Event,
    FlowCompleted,
    Input,
    SessionPaused,
    ShowMessage,
    StaleInput,
    Start,
    TextInput,
    UnsupportedInput,
)
from flows.machine import machine_for
from flows.schema import FlowDefinition, Step
from flows.session import SessionState, Status
from flows.steps import REGISTRY, Outcome, StepContext
from flows.steps.base import Move

DEFAULT_MAX_TEXT_LENGTH = 2000


class Engine:
    """Steps sessions of one flow version. Mutates the given SessionState and returns events."""

    def __init__(self, flow: FlowDefinition, max_text_length: int = DEFAULT_MAX_TEXT_LENGTH) -> None:
        self.flow = flow
        self.machine = machine_for(flow)
        self.max_text_length = max_text_length
        self._steps = {step.id: step for step in flow.steps}
        self._index = {step.id: index for index, step in enumerate(flow.steps)}

    def new_session(self, language: str) -> SessionState:
        lang = language if language in self.flow.languages else self.flow.default_language
        return SessionState(state=self.flow.steps[0].id, language=lang)

    def step_of(self, state: SessionState) -> Step:
        return self._steps[state.state]

    def context(self, state: SessionState) -> StepContext:
        return StepContext(state.language, self._index[state.state], self.max_text_length)

    def prompt(self, state: SessionState) -> ShowMessage:
        step = self.step_of(state)
        return REGISTRY[step.type].prompt(step, state, self.context(state))

    def handle(self, state: SessionState, given: Input) -> list[Event]:
        lang = state.language
        if state.finished:
            if isinstance(given, ChoiceInput):
                return [StaleInput()]
            return [ShowMessage(t(lang, "You have already taken part in this consultation. Thank you!"))]
        if isinstance(given, Start):
            return self._start(state)
        if isinstance(given, CommandInput):
            return self._command(state, given.command)
        if isinstance(given, UnsupportedInput):
            note = t(lang, "Sorry, I can only read text and buttons here.")
            return [ShowMessage(note), self.prompt(state)]
        step = self.step_of(state)
        stype = REGISTRY[step.type]
        ctx = self.context(state)
        if isinstance(given, TextInput):
            outcome = stype.on_text(step, state, given.text, ctx)
        elif given.step_index != ctx.step_index:
            return [StaleInput()]
        else:
            outcome = stype.on_choice(step, state, given.token, ctx)
        return self._apply(state, step, outcome)

    def _start(self, state: SessionState) -> list[Event]:
        if state.status is Status.NEW:
            return self._show_from_here(state)
        state.status = Status.ACTIVE
        welcome = ShowMessage(t(state.language, "Welcome back. Let’s continue where you left off."))
        return [welcome, *self._show_from_here(state)]

    def _command(self, state: SessionState, command: Command) -> list[Event]:
        lang = state.language
        if command is Command.STOP:
            if state.status is Status.NEW:
                return [ShowMessage(t(lang, "Stopped. Nothing was saved."))]
            state.status = Status.PAUSED
            text = t(
                lang,
                "You have stopped. Your answers so far are kept. "
                "Send /start when you want to continue from the same question.",
            )
            return [SessionPaused(), ShowMessage(text)]
        step = self.step_of(state)
        if REGISTRY[step.type].question:
            state.selections.clear()
            return self._apply(state, step, Outcome(Move.ADVANCE, (AnswerRecorded(step.id, skipped=True),)))
        return [ShowMessage(t(lang, "This step cannot be skipped.")), self.prompt(state)]

    def _apply(self, state: SessionState, step: Step, outcome: Outcome) -> list[Event]:
        events = list(outcome.events)
        if outcome.move is Move.STALE:
            return [StaleInput()]
        if outcome.move is Move.DECLINE:
            state.status = Status.DECLINED
            return events
        if outcome.move is Move.STAY:
            return events
        if state.status is Status.NEW:
            state.status = Status.ACTIVE
        for event in events:
            if isinstance(event, AnswerRecorded) and event.codes is not None:
                state.choices[event.question_id] = list(event.codes)
            elif isinstance(event, AnswerRecorded):
                state.choices.pop(event.question_id, None)
        state.history.append(step.id)
        state.state = self.machine.next_state(state.state, state.choices)
        return events + self._show_from_here(state)

    def _show_from_here(self, state: SessionState) -> list[Event]:
        """Show the current step; steps that do not wait (messages) show and move on to the next."""
        events: list[Event] = []
        while True:
            step = self.step_of(state)
            stype = REGISTRY[step.type]
            events.append(stype.prompt(step, state, self.context(state)))
            if stype.waits:
                return events
            if step.type == "end":
                state.status = Status.COMPLETED
                events.append(FlowCompleted())
                return events
            state.state = self.machine.next_state(state.state, state.choices)


_ENGINES: dict[tuple[str, int, int], Engine] = {}


def engine_for(flow: FlowDefinition, max_text_length: int = DEFAULT_MAX_TEXT_LENGTH) -> Engine:
    key = (flow.id, flow.version, max_text_length)
    engine = _ENGINES.get(key)
    if engine is None or engine.flow is not flow:
        engine = _ENGINES[key] = Engine(flow, max_text_length)
    return engine
