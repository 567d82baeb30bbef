"""A participant talking to the core directly, as a second channel (a web chat, WhatsApp) would: neutral inputs
in, neutral outcomes out, message ids of its own. No Telegram object anywhere."""

from __future__ import annotations

from dataclasses import dataclass, field

from consultations.interactions import Begin, Incoming, Option, Outcome, Press, Reply, Said, Sender
from consultations.service import ConversationService


@dataclass
class Chat:
    """One person's chat. `screen` holds what they can still see: (message id, reply), oldest first."""

    service: ConversationService
    identity: int
    language_code: str | None = "en"
    last_id: int = 0
    update_id: int = 0
    screen: list[tuple[int, Reply]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def sender(self, message_id: int | None) -> Sender:
        return Sender(identity=self.identity, language_code=self.language_code, message_id=message_id)

    async def send(self, incoming: Incoming, *, on: int | None = None) -> Outcome:
        """The person sends something (or, with `on`, chooses on that message); the replies are 'shown'."""
        if on is None:
            self.last_id += 1
            message_id = self.last_id
        else:
            message_id = on
        self.update_id += 1
        outcome = await self.service.handle(self.identity * 1000 + self.update_id, self.sender(message_id), incoming)
        self.outcomes.append(outcome)
        if outcome.delete_ids:
            self.screen = [(i, r) for i, r in self.screen if i not in outcome.delete_ids]
        sent = []
        for reply in outcome.replies:
            if reply.replace and on is not None:
                self.screen = [(i, reply if i == on else r) for i, r in self.screen]
                continue
            self.last_id += 1
            sent.append(self.last_id)
            self.screen.append((self.last_id, reply))
        await self.service.remember_sent(self.sender(None), sent)
        return outcome

    async def start(self, code: str | None = None) -> Outcome:
        return await self.send(Begin(code))

    async def say(self, text: str) -> Outcome:
        return await self.send(Said(text))

    @property
    def last(self) -> Reply:
        """The newest message on screen."""
        return self.screen[-1][1]

    def texts(self, outcome: Outcome) -> list[str]:
        return [reply.text for reply in outcome.replies]

    async def choose(self, label: str, *, message: int | None = None) -> Outcome:
        """Choose the option or control with this label, on the newest message offering it (or on `message`)."""
        for message_id, reply in reversed(self.screen):
            if message is not None and message_id != message:
                continue
            option = next((o for o in reply.choices if o.label == label), None)
            if option is not None:
                return await self.send(Press(option.action), on=message_id)
        raise LookupError(f"no {label!r} on screen: {[o.label for _, r in self.screen for o in r.choices]}")

    def option(self, label: str) -> Option:
        return next(o for o in self.last.choices if o.label == label)
