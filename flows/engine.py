"""The engine: one neutral input + a session state in, events out. No I/O, no Telegram, no SQL.

Every expression was checked when the flow was loaded. Should one still fail while a person answers, the engine
passes that step as not relevant, logs the flow, version and step for the operator (never an answer), and the
person goes on: a questionnaire never stops anyone mid-way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

from config.i18n import t, tn
from flows.events import (
    AnswerDiscarded,
    AnswerRecorded,
    Choice,
    ChoiceInput,
    Command,
    CommandInput,
    Event,
    ExitRequested,
    FlowCompleted,
    Input,
    Notice,
    QuestionCount,
    SessionPaused,
    ShowMessage,
    ShowNotice,
    StaleInput,
    Start,
    Terms,
    TextInput,
    Timeout,
    UnsupportedInput,
)
from flows.expressions import TEXT_GIVEN, Expression, Place, Scope, compile_expression
from flows.machine import expression_failed, machine_for
from flows.schema import Audience, FlowDefinition, Step
from flows.session import SessionState, Status
from flows.steps import REGISTRY, Move, Outcome, StepContext, StepType
from flows.steps.base import EXIT, visible_options
from flows.steps.single_choice import SingleChoiceStep

DEFAULT_MAX_TEXT_LENGTH = 2000

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class CompiledStep:
    """A step with its type and its expressions parsed once."""

    step: Step
    index: int
    kind: StepType
    relevant: Expression | None
    constraint: Expression | None
    choice_filter: Expression | None
    calculation: Expression | None


def _compile(source: str | None) -> Expression | None:
    return compile_expression(source) if source else None


class Engine:
    """Steps sessions of one flow version. Mutates the given SessionState and returns events."""

    def __init__(self, flow: FlowDefinition, max_text_length: int = DEFAULT_MAX_TEXT_LENGTH) -> None:
        self.flow = flow
        self.machine = machine_for(flow)
        self.max_text_length = max_text_length
        self._steps = {
            step.id: CompiledStep(
                step,
                index,
                REGISTRY[step.type],
                _compile(step.relevant),
                _compile(step.constraint),
                _compile(step.choice_filter),
                _compile(step.calculation),
            )
            for index, step in enumerate(flow.steps)
        }
        self._waits = [REGISTRY[step.type].waits for step in flow.steps]
        questions = [step for step in flow.steps if REGISTRY[step.type].question]
        branching = any(step.relevant for step in questions) or any(isinstance(s.next, tuple) for s in flow.steps)
        self.questions = QuestionCount(len(questions), at_most=branching)
        """How many questions the flow asks, for the consent message (the one source of that number)."""

    def new_session(self, language: str) -> SessionState:
        lang = language if language in self.flow.languages else self.flow.default_language
        return SessionState(state=self.flow.steps[0].id, language=lang)

    def step_of(self, state: SessionState) -> Step:
        return self._steps[state.state].step

    def context(self, state: SessionState, terms: Terms | None = None) -> StepContext:
        compiled = self._steps[state.state]
        return StepContext(
            state.language,
            compiled.index,
            self.max_text_length,
            skippable=not compiled.step.required,
            choice_filter=compiled.choice_filter,
            terms=terms,
            questions=self.questions,
        )

    def prompt(self, state: SessionState, terms: Terms | None = None) -> ShowMessage:
        """The current step's message again (after a language change, say), with the survivor's way out."""
        return self._exit_added(state, self._prompt(state, terms))

    def answer_labels(self, step_id: str, language: str) -> dict[str, str]:
        """Option code -> label in `language` for a choice step (generated ones too: yes/no, age bands,
        rating points), to show a participant their own answers."""
        compiled = self._steps.get(step_id)
        if compiled is None or not isinstance(compiled.kind, SingleChoiceStep):
            return {}
        state = self.new_session(language)
        state.state = step_id
        ctx = StepContext(state.language, compiled.index, self.max_text_length)
        return {code: label for code, label, _ in compiled.kind.choices(compiled.step, state, ctx)}

    def handle(self, state: SessionState, given: Input, terms: Terms | None = None) -> list[Event]:
        """Step the session with one input; in survivor flows every question shown offers the safe exit.
        `terms` are the consultation's, for the consent message."""
        if isinstance(given, ChoiceInput) and given.token == EXIT:
            return [ExitRequested()]  # from any message, however old: leaving must always work
        return self._with_exit(state, self._handle(state, given, terms))

    def _with_exit(self, state: SessionState, events: list[Event]) -> list[Event]:
        return [self._exit_added(state, e) if isinstance(e, ShowMessage) else e for e in events]

    def _exit_added(self, state: SessionState, shown: ShowMessage) -> ShowMessage:
        """In survivor flows, every message of a step that waits for the person offers "Exit and clear chat"."""
        if self.flow.audience is not Audience.SURVIVOR or shown.step_index is None or not self._waits[shown.step_index]:
            return shown
        return replace(shown, controls=(*shown.controls, (Choice(t(state.language, "Exit and clear chat"), EXIT),)))

    def _handle(self, state: SessionState, given: Input, terms: Terms | None) -> list[Event]:
        lang = state.language
        if state.finished:
            if isinstance(given, ChoiceInput):
                return [StaleInput()]
            return [ShowMessage(t(lang, "You have already taken part in this consultation. Thank you!"))]
        if isinstance(given, Timeout):
            return self._expire(state, given.hours)
        if isinstance(given, Start):
            return self._start(state, terms)
        if isinstance(given, CommandInput):
            return self._command(state, given.command)
        if isinstance(given, UnsupportedInput):
            # One short line pointing to the question already on screen: sending the question again for each
            # sticker would leave copies of it, each with buttons that look alive.
            return [ShowNotice(Notice.UNKNOWN_COMMAND if given.kind == "command" else Notice.QUESTION_ABOVE)]
        compiled = self._steps[state.state]
        ctx = self.context(state, terms)
        if isinstance(given, TextInput):
            outcome = compiled.kind.on_text(compiled.step, state, given.text, ctx)
        elif given.step_index != ctx.step_index:
            return [StaleInput()]
        else:
            state.resume()  # a choice from the current question carries on after a pause, a stop or a quiet time
            outcome = compiled.kind.on_choice(compiled.step, state, given.token, ctx)
        return self._apply(state, compiled, outcome)

    def _prompt(self, state: SessionState, terms: Terms | None = None) -> ShowMessage:
        compiled = self._steps[state.state]
        return compiled.kind.prompt(compiled.step, state, self.context(state, terms))

    # ---- commands and lifecycle

    def _start(self, state: SessionState, terms: Terms | None) -> list[Event]:
        if state.status is Status.NEW:
            return self._show_from_here(state, terms)
        state.resume()
        welcome = ShowMessage(t(state.language, "Welcome back. Let’s continue where you left off."))
        return [welcome, self._prompt(state)]

    def _expire(self, state: SessionState, hours: int) -> list[Event]:
        if state.status is Status.NEW:
            return []
        state.expire()
        text = tn(
            state.language,
            "This conversation was closed because it was quiet for more than %(n)s hour. "
            "Your answers so far are kept. Send /start to continue from the same question.",
            "This conversation was closed because it was quiet for more than %(n)s hours. "
            "Your answers so far are kept. Send /start to continue from the same question.",
            hours,
        )
        return [SessionPaused(), ShowMessage(text)]

    def _command(self, state: SessionState, command: Command) -> list[Event]:
        lang = state.language
        if command in (Command.STOP, Command.PAUSE):
            if state.status is Status.NEW:
                return [ShowMessage(t(lang, "Stopped. Nothing was saved."))]
            if command is Command.PAUSE:
                state.pause()
                text = t(lang, "Paused. Your place is kept. Send /resume (or /start) when you want to go on.")
            else:
                state.stop()
                text = t(
                    lang,
                    "You have stopped. Your answers so far are kept. "
                    "Send /start when you want to continue from the same question.",
                )
            return [SessionPaused(), ShowMessage(text)]
        if state.status is Status.NEW:
            return [self._prompt(state)]
        if command is Command.BACK:
            return self._back(state)
        compiled = self._steps[state.state]
        outcome = compiled.kind.on_skip(compiled.step, state, self.context(state))
        if outcome is not None:
            return self._apply(state, compiled, outcome)
        if compiled.step.required:
            return [ShowMessage(t(lang, "This question needs an answer.")), self._prompt(state)]
        return [ShowMessage(t(lang, "This step cannot be skipped.")), self._prompt(state)]

    def _back(self, state: SessionState) -> list[Event]:
        """Return to the previous answered question; its answer can be changed."""
        questions = [sid for sid in state.history if self._steps[sid].kind.question]
        if not questions:
            return [ShowMessage(t(state.language, "There is no earlier question.")), self._prompt(state)]
        previous = questions[-1]
        del state.history[state.history.index(previous) :]
        state.state = previous
        state.page = 0
        kept = state.choices.get(previous, [])
        state.selections = list(kept) if self._steps[previous].step.type == "multiple_choice" else []
        return [ShowMessage(t(state.language, "Going back to the previous question.")), self._prompt(state)]

    # ---- answers

    def _apply(self, state: SessionState, compiled: CompiledStep, outcome: Outcome) -> list[Event]:
        events = list(outcome.events)
        if outcome.move is Move.STALE:
            return [StaleInput()]
        if outcome.move is Move.DECLINE:
            state.decline()
            return events
        if outcome.move is Move.STAY:
            return events
        answer = next((e for e in events if isinstance(e, AnswerRecorded)), None)
        if answer is not None and not answer.skipped and (constraint := compiled.constraint) is not None:
            current = list(answer.codes) if answer.codes is not None else [(answer.text or "")[: answer.limit]]
            holds = self._guarded(compiled, Place.CONSTRAINT, lambda: constraint.holds(Scope(state.choices, current)))
            if holds is None:
                return self._pass(state, compiled)
            if not holds:
                why = StepContext(state.language, compiled.index, self.max_text_length).text(
                    compiled.step.constraint_message
                ) or t(state.language, "That answer is not possible here. Please check it and try again.")
                if compiled.step.type == "multiple_choice":
                    state.selections = list(answer.codes or ())
                return [ShowMessage(why), self._prompt(state)]
        state.begin()
        if answer is not None:
            if answer.codes is not None:
                state.choices[answer.question_id] = list(answer.codes)
            elif answer.text is not None:
                state.choices[answer.question_id] = [TEXT_GIVEN]
            else:
                state.choices.pop(answer.question_id, None)
        state.history.append(compiled.step.id)
        state.selections.clear()
        state.page = 0
        state.state = self.machine.next_state(state.state, state.choices)
        return events + self._show_from_here(state)

    def _show_from_here(self, state: SessionState, terms: Terms | None = None) -> list[Event]:
        """Show the current step. Steps whose `relevant` fails are passed (their old answers discarded),
        calculations are computed, notes and sections show and move on, until a step waits or the end."""
        events: list[Event] = []
        while True:
            compiled = self._steps[state.state]
            step = compiled.step
            if not self._relevant(compiled, state):
                if compiled.kind.question:
                    state.choices.pop(step.id, None)
                    events.append(AnswerDiscarded(step.id))
                state.state = self.machine.next_state(state.state, state.choices)
                continue
            if (calculation := compiled.calculation) is not None:
                value = self._guarded(compiled, Place.CALCULATION, partial(calculation.value, Scope(state.choices)))
                if value is None:
                    state.choices.pop(step.id, None)
                else:
                    state.choices[step.id] = [value]
                state.state = self.machine.next_state(state.state, state.choices)
                continue
            events.append(compiled.kind.prompt(step, state, self.context(state, terms)))
            if compiled.kind.waits:
                return events
            if step.type == "end":
                state.complete()
                answered = set(state.history)
                events += [
                    AnswerDiscarded(c.step.id)
                    for c in self._steps.values()
                    if c.kind.question and c.step.id not in answered
                ]
                events.append(FlowCompleted())
                return events
            state.state = self.machine.next_state(state.state, state.choices)

    # ---- expressions that fail while someone answers (load-time checks should have made this impossible)

    def _relevant(self, compiled: CompiledStep, state: SessionState) -> bool:
        """The step is shown: its `relevant` holds and, with a choice_filter, some option is left to choose.
        An expression that fails counts as not relevant."""
        relevant = compiled.relevant
        if relevant is not None:
            holds = self._guarded(compiled, Place.RELEVANT, lambda: relevant.holds(Scope(state.choices)))
            if not holds:
                return False
        if compiled.choice_filter is not None:
            ctx = StepContext(
                state.language, compiled.index, self.max_text_length, choice_filter=compiled.choice_filter
            )
            visible = self._guarded(compiled, Place.CHOICE_FILTER, lambda: visible_options(compiled.step, state, ctx))
            if not visible:
                return False
        return True

    def _guarded(self, compiled: CompiledStep, place: Place, evaluate: Callable[[], T]) -> T | None:
        """The expression's result, or None when evaluating it failed (logged for the operator)."""
        try:
            return evaluate()
        except Exception as exc:  # any failure at all: the step is passed, the person goes on
            expression_failed(self.flow, compiled.step.id, place, exc)
            return None

    def _pass(self, state: SessionState, compiled: CompiledStep) -> list[Event]:
        """Pass the current step as not relevant (its constraint failed): nothing recorded, on to the next."""
        step_id = compiled.step.id
        state.choices.pop(step_id, None)
        state.selections.clear()
        state.page = 0
        state.state = self.machine.next_state(state.state, state.choices)
        return [AnswerDiscarded(step_id), *self._show_from_here(state)]


_ENGINES: dict[tuple[str, int, int], Engine] = {}


def engine_for(flow: FlowDefinition, max_text_length: int = DEFAULT_MAX_TEXT_LENGTH) -> Engine:
    key = (flow.id, flow.version, max_text_length)
    engine = _ENGINES.get(key)
    if engine is None or engine.flow is not flow:
        engine = _ENGINES[key] = Engine(flow, max_text_length)
    return engine
