"""Settings from ``HUB_*`` environment variables.

Everything an operator of the hub may want to change lives here, so that ``python -m hub serve``
needs no config file: the defaults give the embedded mode (a SQLite file in the working folder and
the in-process bus), and two variables switch to the served mode (PostgreSQL and Redis).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.crm_sync.report_period import parse_working_hours, zone
from hub.errors import DomainError
from hub.geoip import check_database
from hub.outbound.destinations import DestinationPolicy, parse_networks


class Settings(BaseSettings):
    """The hub's configuration; each field is ``HUB_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")
    _resolved_key: str | None = PrivateAttr(default=None)
    _public_url_derived: bool = PrivateAttr(default=False)

    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = "sqlite+aiosqlite:///./hub.db"
    redis_url: str | None = None
    redis_prefix: str = "hub"
    #: Unset: ``http://<host>:<port>`` of this server (127.0.0.1 when it listens on every
    #: address), so ``HUB_PORT=18200`` alone gives an inbox one can log in to.
    public_url: str = ""
    #: The installation's language: what the defaults it makes (the sales pipeline's stages, the
    #: lost reasons) are called. ``en`` or ``ru``.
    language: Literal["en", "ru"] = "en"
    secret_key: str = ""
    secret_key_file: Path = Path(".hub-secret-key")
    log_level: str = "INFO"
    #: Largest request body accepted, in bytes; larger ones get 413 ``body_too_large``.
    max_body_bytes: int = 1024 * 1024
    #: Largest message text, in characters.
    max_message_chars: int = 20_000
    #: Events kept for ``resume``; a client further behind gets ``resync``.
    event_retention: int = 10_000
    #: Operator sessions last this long unless the operator logs out or is deactivated.
    token_ttl_hours: int = 24 * 14
    #: Group commits: how long a busy writer waits for more writes to join a commit (not after
    #: a small batch, so a quiet hub adds no wait). 2 ms measured best on 2 cores.
    commit_window_ms: float = 2.0
    commit_max_batch: int = 256
    #: Parallel group-commit writers on PostgreSQL (SQLite always has one).
    write_lanes: int = 1
    #: The longest wait on the database: a connection, a pool checkout, a statement, a read,
    #: a write (waiting in its lane included). Past it the request answers 503.
    db_timeout_s: float = 5.0
    #: The Retry-After of a 503 ``database_unavailable``, in seconds.
    db_retry_after_s: int = 5
    #: A database outage is logged when it starts, this often while it lasts, and when it ends.
    db_outage_log_interval_s: float = 60.0
    #: How long ``/readyz`` waits for the database and the bus before answering 503.
    ready_timeout_s: float = 0.5
    #: Outgoing socket frames buffered per operator socket before it is closed as too slow.
    socket_queue_size: int = 10_000
    #: Run migrations when the server starts (off when a separate ``hub migrate`` step runs them).
    migrate_on_start: bool = False
    #: Take part in the lead intake (new conversations become leads). With several processes
    #: one holds the cursor's lease at a time; turn it off on processes that should never run it.
    lead_intake: bool = True
    #: How often the lead intake looks for new conversations when no event woke it.
    lead_intake_poll_interval_s: float = 3.0
    #: After a failed pass (the database away, an error), a background worker waits this long,
    #: or its own interval if that is longer, before the next; a wake-up does not cut it short.
    worker_backoff_s: float = 1.0
    #: How often snoozed conversations whose time has come are reopened.
    snooze_check_interval_s: float = 15.0
    #: How often calls left ringing past their channel's ``answer_within_s`` are counted as
    #: missed (and get their "call back" task).
    call_sweep_interval_s: float = 15.0
    #: Recordings a provider names by id (Zadarma, Mango): how often due fetches are looked
    #: for when no webhook woke the worker, the wait before the second attempt (doubled after
    #: each, at most an hour) and the attempts in all.
    recording_fetch_interval_s: float = 30.0
    recording_retry_s: float = 60.0
    recording_attempts: int = 8
    #: How often open tasks that fell due are looked for, to tell their owners (``task.due``).
    task_reminder_interval_s: float = 15.0
    #: With Redis, how often each process writes its count of operator sockets (kept three
    #: times as long, so a process that died stops counting soon after).
    presence_refresh_interval_s: float = 10.0
    #: Run automatic assignment in this process (every process may: the database keeps them
    #: from assigning a conversation twice), and how often it looks for work when nothing woke it
    #: (offers not opened in time pass on, a queue is served when working hours begin).
    routing: bool = True
    routing_interval_s: float = 5.0
    #: Outbound delivery: attempts before a reply is marked failed, and the longest backoff.
    delivery_max_attempts: int = 20
    delivery_max_backoff_s: float = 3600.0
    delivery_timeout_s: float = 10.0
    #: How often the delivery worker looks for due replies when no new reply woke it.
    delivery_poll_interval_s: float = 1.0
    #: How often each process looks for scheduled emails whose time has come (how late one
    #: may go, at most).
    scheduled_email_poll_interval_s: float = 5.0
    #: Sync out (signed webhooks): attempts before a delivery is marked failed, the longest wait
    #: between two attempts, one attempt's timeout, and how often the worker looks for work.
    sync_max_attempts: int = 30
    sync_max_backoff_s: float = 3600.0
    sync_timeout_s: float = 10.0
    sync_poll_interval_s: float = 1.0
    #: Callbacks and webhooks never go to private, loopback, link-local, metadata and other
    #: non-public addresses, except in these networks (comma-separated CIDRs, e.g.
    #: ``10.20.0.0/16,fd00:1::/64``), for receivers inside an on-premise network.
    webhook_allowed_networks: str = ""
    #: The company's time zone (dates in report periods are its days) and its working hours,
    #: e.g. ``mon-fri 09:00-18:00``, until an admin saves others in the admin area
    #: (``hub.company_hours``); read through ``ctx.company``, never from here.
    timezone: str = "Europe/Moscow"
    working_hours: str = ""
    #: Login throttling, checked before a password is hashed: failed logins of one email from
    #: one address before the waits start, then of one email from all addresses (but those it
    #: logged in from before) and of one address for all emails; each further failure doubles
    #: the wait from 1 s up to the longest; counters are forgotten this long after the last.
    login_free_failures: int = 5
    login_wide_free_failures: int = 30
    login_max_delay_s: float = 300.0
    login_forget_s: float = 900.0
    #: Cheap password hashing, for tests only.
    fast_password_hash: bool = False
    shutdown_timeout_s: float = 5.0
    #: Where attachment files are kept (shared by every process when scaling out).
    media_dir: Path = Path("media")
    #: Largest attachment, uploaded by an operator or downloaded from a channel, in bytes.
    max_attachment_bytes: int = 20 * 1024 * 1024
    #: The Bot API server: Telegram's own, or a self-hosted one (``telegram-bot-api``).
    telegram_api_url: str = "https://api.telegram.org"
    #: Long polling instead of webhooks, for development without a public URL.
    telegram_polling: bool = False
    #: How often a process looks for Telegram channels it does not serve yet (to load the
    #: channel, and with long polling to take a bot's lease).
    telegram_scan_interval_s: float = 10.0
    #: With long polling, how long a bot's polling waits after a failed ``getUpdates``.
    telegram_poll_backoff_s: float = 5.0
    #: Email in: the largest message read whole, in bytes (a larger one is stored from its
    #: headers, with a note that it stayed in the mailbox); how long a reply that lost its
    #: headers and token still joins the sender's conversation of the same subject.
    email_max_message_bytes: int = 25 * 1024 * 1024
    email_thread_window_days: float = 14.0
    #: IMAP mailboxes: IDLE is ended and issued again after this long (servers drop it at 30
    #: minutes); without IDLE the folder is looked at this often; a process looks for
    #: mailboxes to read (and renews its leases) this often; after a failed connection it
    #: waits the backoff, doubled each time up to the longest; messages per fetch; one
    #: command's timeout; a newly connected mailbox starts with the mail of this many days.
    imap_idle_s: float = 1500.0
    imap_poll_interval_s: float = 60.0
    imap_scan_interval_s: float = 10.0
    imap_backoff_s: float = 5.0
    imap_max_backoff_s: float = 300.0
    imap_batch: int = 50
    imap_timeout_s: float = 30.0
    imap_first_fetch_days: float = 1.0
    #: Whether this process reads the email channels' mailboxes (off: it serves the API only
    #: and leaves the mailboxes to the processes that read them).
    imap_readers: bool = True
    #: Email-open and click tracking: requests for the pixel and tracked links one address
    #: may make (token bucket, per process); past it a pixel is answered but not stored and
    #: a link answers 429. Mail proxies (Apple's, Google's) load many customers' pixels from
    #: few addresses, so the burst is large.
    email_tracking_ip_burst: float = 600
    email_tracking_ip_per_s: float = 30
    #: The hub's own SMTP receiver (for mail forwarded to it): off unless a port is set; it
    #: accepts mail only for the addresses of the hub's email channels.
    smtp_host: str = "127.0.0.1"
    smtp_port: int | None = None
    #: Channel types from outside the hub: comma-separated modules that each define ``SPEC``
    #: (a ``hub.channels.spec.ChannelSpec``), loaded by ``serve`` and ``channel add``.
    channel_modules: str = ""

    #: Where widget/hub-widget.js and widget/demo.html are (the repository's widget folder).
    widget_dir: Path = Path(__file__).resolve().parent.parent / "widget"
    #: Longest visitor message, in characters.
    widget_max_message_chars: int = 5000
    #: Widget rate limits (token buckets, per process): requests of one address, new chats of
    #: one address, messages of one visitor. Raise the address limits behind a proxy that
    #: gathers many visitors under one address.
    #: Behind a reverse proxy: take the client's address (a visitor's, or an operator's logging
    #: in) from X-Forwarded-For (set by the proxy), not from the connection, which is the
    #: proxy's. Never enable without a proxy.
    behind_proxy: bool = False
    widget_ip_burst: float = 120
    widget_ip_per_s: float = 4
    widget_session_burst: float = 30
    widget_session_per_s: float = 0.5
    widget_visitor_burst: float = 10
    widget_visitor_per_s: float = 0.5
    #: How long a tracking number of a site's pool stays a visitor's after his page last
    #: renewed it (the page renews it while open): calls to it within that time are his visit's.
    number_reservation_s: float = Field(default=1800.0, ge=60, le=86400)
    #: A City database in the MaxMind DB format (MaxMind's GeoLite2-City or DB-IP's IP to City
    #: Lite, ``.mmdb``): a website visitor's city and country are read from his address in it
    #: (``hub.geoip``). Unset: no city. A path that is not such a file fails the start.
    geoip_database: Path | None = None

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)  # a ValueError names the part that is not a network
        return value

    @field_validator("geoip_database", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("geoip_database")
    @classmethod
    def _geoip_database(cls, value: Path | None) -> Path | None:
        if value is not None:
            check_database(value)  # a ValueError says what is wrong with the file
        return value

    @model_validator(mode="after")
    def _derive_public_url(self) -> Settings:
        if not self.public_url:
            object.__setattr__(self, "public_url", derived_public_url(self.host, self.port))
            self._public_url_derived = True
        return self

    def served_at(self, host: str | None, port: int | None) -> Settings:
        """These settings for ``serve --host/--port``: a public URL nobody set follows them."""
        update: dict[str, object] = {"host": host or self.host, "port": port or self.port}
        if self._public_url_derived:
            update["public_url"] = derived_public_url(str(update["host"]), int(str(update["port"])))
        return self.model_copy(update=update)

    @model_validator(mode="after")
    def _company_hours(self) -> Settings:
        """A time zone or working hours that do not read fail the start, not a visitor's call-back
        request or a report later on."""
        try:
            zone(self.timezone)
            parse_working_hours(self.working_hours, self.timezone)
        except DomainError as exc:
            raise ValueError(exc.message) from exc
        return self

    @property
    def destination_policy(self) -> DestinationPolicy:
        """Where callbacks and webhooks may go (``hub.outbound.destinations``)."""
        return DestinationPolicy.from_spec(self.webhook_allowed_networks)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def channel_module_names(self) -> list[str]:
        return [name.strip() for name in self.channel_modules.split(",") if name.strip()]

    def resolved_secret_key(self) -> str:
        """The secret key: the configured one, else one kept in ``secret_key_file``.

        Generated on first run so a fresh install is secure without a setup step, and kept so
        that tokens signed with it survive a restart.
        """
        if self.secret_key:
            return self.secret_key
        if self._resolved_key is None:  # read (or made) once, not on every signed request
            path = self.secret_key_file
            key = path.read_text().strip() if path.exists() else ""
            if not key:
                key = secrets.token_urlsafe(48)
                path.write_text(key + "\n")
                path.chmod(0o600)
            self._resolved_key = key
        return self._resolved_key


def derived_public_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches a server listening on ``host:port``: a server on
    every address (``0.0.0.0``, ``::``) is reached at 127.0.0.1; behind a proxy or on another
    name, set ``HUB_PUBLIC_URL``."""
    every_address = ("", "0.0.0.0", "::", "*")  # noqa: S104 -- compared with, not bound to
    name = "127.0.0.1" if host in every_address else host
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"
    return f"http://{name}:{port}"
