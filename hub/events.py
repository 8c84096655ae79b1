"""Domain events: what changed, announced after the change is committed.

Every event is a frozen dataclass with a docstring (a test fails for an undocumented one) and
names its recipients explicitly, so the realtime layer never has to guess who may see what.
On the wire an event is ``{"event": name, "data": {...}, "recipients": {...}}``; operators get
``{"type": "event", "id", "event", "data"}`` without the recipients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

# The base and the recipients live apart so this list of events stays one readable module;
# everything imports them from here.
from hub.event_base import Event as Event
from hub.event_base import Recipients as Recipients
from hub.settings_events import ChannelUpdated as ChannelUpdated
from hub.settings_events import LostReasonsUpdated as LostReasonsUpdated
from hub.settings_events import NumberPoolUpdated as NumberPoolUpdated
from hub.settings_events import PipelineCreated as PipelineCreated
from hub.settings_events import PipelineUpdated as PipelineUpdated
from hub.settings_events import WorkingHoursUpdated as WorkingHoursUpdated

EVENTS_TOPIC = "events"
#: Only says that conversations were created (``{"conversation_ids": [...]}``), for background
#: work that wakes on new conversations (the lead intake) without reading every event.
NEW_CONVERSATIONS_TOPIC = "new-conversations"
#: Only the company's working-hours saves (``working_hours.updated`` as on the event stream),
#: for every process's ``HoursFollower``, which then reads no other event.
WORKING_HOURS_TOPIC = "working-hours"


@dataclass(frozen=True, slots=True)
class ConversationCreated(Event):
    """A new conversation started (a customer wrote for the first time on a channel)."""

    name: ClassVar[str] = "conversation.created"
    conversation: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"conversation": self.conversation}


@dataclass(frozen=True, slots=True)
class ConversationUpdated(Event):
    """A conversation changed: its status or snooze time (a new message reopening it, too).

    A new message alone does not send this: its ``message.created`` carries the conversation."""

    name: ClassVar[str] = "conversation.updated"
    conversation: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"conversation": self.conversation}


@dataclass(frozen=True, slots=True)
class ConversationAssigned(Event):
    """A conversation was assigned or transferred to an operator or team, with a handoff note.

    The previous assignee receives it too, so his "mine" list can drop the conversation."""

    name: ClassVar[str] = "conversation.assigned"
    conversation: dict[str, Any] = field(default_factory=dict)
    previous_assignee_id: int | None = None
    previous_team_id: int | None = None
    note: str = ""

    def data(self) -> dict[str, Any]:
        return {
            "conversation": self.conversation,
            "previous_assignee_id": self.previous_assignee_id,
            "previous_team_id": self.previous_team_id,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class ConversationAccepted(Event):
    """The operator a conversation was offered to by automatic assignment opened it: it is his
    now and no longer passes on. Sent to whoever may see the conversation."""

    name: ClassVar[str] = "conversation.accepted"
    conversation_id: int = 0
    operator_id: int = 0

    def data(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "operator_id": self.operator_id}


@dataclass(frozen=True, slots=True)
class MessageCreated(Event):
    """A message was added: a customer message, a reply, an internal note or an activity.

    For customer messages, replies and notes ``data.conversation`` is the conversation as it
    stands after the message (preview, unread count, last activity), so one event updates
    both the open conversation and its row in the list."""

    name: ClassVar[str] = "message.created"
    conversation_id: int = 0
    message: dict[str, Any] = field(default_factory=dict)
    conversation: dict[str, Any] | None = None

    def data(self) -> dict[str, Any]:
        out = {"conversation_id": self.conversation_id, "message": self.message}
        if self.conversation is not None:
            out["conversation"] = self.conversation
        return out


@dataclass(frozen=True, slots=True)
class MessageUpdated(Event):
    """A message changed after it was created: its delivery status to the customer, or its
    text after the customer edited it (``meta.original_body`` keeps the first text)."""

    name: ClassVar[str] = "message.updated"
    conversation_id: int = 0
    message: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "message": self.message}


@dataclass(frozen=True, slots=True)
class MessageOpened(Event):
    """A person opened a tracked email (its pixel loaded and the verdict was "human"; machine
    loads, such as Apple's prefetch or an image proxy, send nothing).

    Sent to the operator who sent the email and everyone who may see its conversation.
    ``data``: ``conversation_id``, ``message_id``, ``subject``, ``contact`` (id, name), ``at``,
    ``client`` (the mail client named), ``sender_operator_id`` and ``tracking``, the email's
    summary after this open (the message's ``email.tracking``)."""

    name: ClassVar[str] = "message.opened"
    conversation_id: int = 0
    message_id: int = 0
    hit: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "message_id": self.message_id, **self.hit}


@dataclass(frozen=True, slots=True)
class MessageClicked(Event):
    """A person clicked a link of a tracked email (a link scanner's click sends nothing).

    Sent like ``message.opened``, with the same fields and ``link``, the address followed."""

    name: ClassVar[str] = "message.clicked"
    conversation_id: int = 0
    message_id: int = 0
    hit: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "message_id": self.message_id, **self.hit}


@dataclass(frozen=True, slots=True)
class OperatorUpdated(Event):
    """An operator's role, teams or active flag changed; his open sockets re-read his rights
    and are closed if he was deactivated."""

    name: ClassVar[str] = "operator.updated"
    operator: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"operator": self.operator}


@dataclass(frozen=True, slots=True)
class OperatorAvailability(Event):
    """An operator set himself away or back (automatic assignment passes by an operator who is
    away). Sent to staff and to him, so his other tabs show it too."""

    name: ClassVar[str] = "operator.availability"
    operator_id: int = 0
    away: bool = False

    def data(self) -> dict[str, Any]:
        return {"operator_id": self.operator_id, "away": self.away}


@dataclass(frozen=True, slots=True)
class TeamRoutingUpdated(Event):
    """An admin changed a team's automatic assignment (on or off, capacity, accept timeout,
    an operator's own capacity). Sent to staff and to the team."""

    name: ClassVar[str] = "team.routing_updated"
    routing: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"routing": self.routing}


@dataclass(frozen=True, slots=True)
class SessionEnded(Event):
    """An operator logged out of one session (one token): the open sockets of that session
    close with 4003 on every process, his other sessions stay. Sent to him."""

    name: ClassVar[str] = "operator.session_ended"
    operator_id: int = 0
    session_id: int = 0

    def data(self) -> dict[str, Any]:
        return {"operator_id": self.operator_id, "session_id": self.session_id}


@dataclass(frozen=True, slots=True)
class ContactUpdated(Event):
    """A contact's name, phones or emails changed (an operator edited them, or the customer
    filled in a form)."""

    name: ClassVar[str] = "contact.updated"
    contact: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"contact": self.contact}


@dataclass(frozen=True, slots=True)
class ConversationTyping(Event):
    """The customer is typing in a conversation (sent at most every few seconds; not stored)."""

    name: ClassVar[str] = "conversation.typing"
    conversation_id: int = 0

    def data(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "sender": {"type": "contact"}}


@dataclass(frozen=True, slots=True)
class ConversationRated(Event):
    """The customer rated a resolution of a conversation (1 to 5, with an optional comment);
    the conversation also gets the rating as an activity (its ``message.created``). Sent to
    whoever may see the conversation."""

    name: ClassVar[str] = "conversation.rated"
    conversation_id: int = 0
    contact_id: int = 0
    rating: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "contact_id": self.contact_id,
            "rating": self.rating,
        }


@dataclass(frozen=True, slots=True)
class LeadCreated(Event):
    """A first contact became a lead (the intake of new conversations made it), waiting in
    "incoming" with its source. Sent to staff and to whoever may see the contact's
    conversations."""

    name: ClassVar[str] = "lead.created"
    lead: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"lead": self.lead}


@dataclass(frozen=True, slots=True)
class LeadUpdated(Event):
    """A lead was decided: qualified into a deal, linked to an existing deal, or rejected
    (``data.lead.status`` says which, with the deal id or the reason)."""

    name: ClassVar[str] = "lead.updated"
    lead: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"lead": self.lead}


@dataclass(frozen=True, slots=True)
class DealCreated(Event):
    """A deal was made, by qualifying a lead or directly. Sent to staff, its owner and whoever
    may see the contact's conversations."""

    name: ClassVar[str] = "deal.created"
    deal: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"deal": self.deal}


@dataclass(frozen=True, slots=True)
class DealUpdated(Event):
    """A deal changed: its fields, its stage (forward, or backward with a reason), won, lost
    or reopened, or a conversation joined it. ``data.change`` names what happened."""

    name: ClassVar[str] = "deal.updated"
    deal: dict[str, Any] = field(default_factory=dict)
    change: str = "fields"

    def data(self) -> dict[str, Any]:
        return {"deal": self.deal, "change": self.change}


@dataclass(frozen=True, slots=True)
class TaskUpdated(Event):
    """A task was made or completed. Sent to staff, its assignee and its author, so overdue
    lists stay current."""

    name: ClassVar[str] = "task.updated"
    task: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"task": self.task}


@dataclass(frozen=True, slots=True)
class CallUpdated(Event):
    """A phone call already on a conversation's timeline changed: answered, ended, missed, its
    duration or recording came (a telephony channel reports a call in several events; its
    first one arrives as ``message.created`` with ``message.call``). ``data.call`` is the whole
    call as it stands now. Sent to whoever may see the conversation."""

    name: ClassVar[str] = "call.updated"
    conversation_id: int = 0
    message_id: int = 0
    call: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "call": self.call,
        }


@dataclass(frozen=True, slots=True)
class TaskDue(Event):
    """A task fell due: told once (one process claims it), live, to its assignee, or to staff
    when it has none, so the owner is reminded without opening the board."""

    name: ClassVar[str] = "task.due"
    task: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"task": self.task}


@dataclass(frozen=True, slots=True)
class ConversationRead(Event):
    """An operator read a conversation up to a message (he opened it): sent to him alone, so
    its badge clears in his other tabs and devices too. ``my_unread_count`` is what is left."""

    name: ClassVar[str] = "conversation.read"
    conversation_id: int = 0
    operator_id: int = 0
    last_read_message_id: int = 0
    my_unread_count: int = 0

    def data(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "operator_id": self.operator_id,
            "last_read_message_id": self.last_read_message_id,
            "my_unread_count": self.my_unread_count,
        }


@dataclass(frozen=True, slots=True)
class NumberPoolRanOut(Event):
    """Every number of a site's pool was held when a visitor asked for one, so he was shown
    the default number (sent once per run of misses: again only after a number was given out
    since). Sent to staff: the pool needs more numbers."""

    name: ClassVar[str] = "number_pool.ran_out"
    channel_id: int = 0
    pool_size: int = 0

    def data(self) -> dict[str, Any]:
        return {"channel_id": self.channel_id, "pool_size": self.pool_size}


@dataclass(frozen=True, slots=True)
class ScheduledEmailCreated(Event):
    """An operator scheduled an email (a reply, or a new email to a contact) for a later time.

    Sent to its author and to staff: the ones who may see, edit and cancel it."""

    name: ClassVar[str] = "scheduled_email.created"
    scheduled_email: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"scheduled_email": self.scheduled_email}


@dataclass(frozen=True, slots=True)
class ScheduledEmailUpdated(Event):
    """A scheduled email changed: edited (text, subject, time), cancelled, sent (it became the
    message ``message_id`` of ``conversation_id``, whose own ``message.created`` follows the
    conversation's recipients) or failed (``error`` says why). To its author and to staff."""

    name: ClassVar[str] = "scheduled_email.updated"
    scheduled_email: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"scheduled_email": self.scheduled_email}


ALL_EVENTS: tuple[type[Event], ...] = (
    CallUpdated,
    ConversationCreated,
    ConversationUpdated,
    ConversationAssigned,
    ConversationAccepted,
    MessageCreated,
    MessageUpdated,
    MessageOpened,
    MessageClicked,
    OperatorUpdated,
    OperatorAvailability,
    TeamRoutingUpdated,
    SessionEnded,
    ContactUpdated,
    ConversationTyping,
    ConversationRated,
    LeadCreated,
    LeadUpdated,
    DealCreated,
    DealUpdated,
    TaskUpdated,
    TaskDue,
    ConversationRead,
    PipelineCreated,
    PipelineUpdated,
    LostReasonsUpdated,
    ChannelUpdated,
    NumberPoolUpdated,
    NumberPoolRanOut,
    WorkingHoursUpdated,
    ScheduledEmailCreated,
    ScheduledEmailUpdated,
)
