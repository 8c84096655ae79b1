"""The email channel's registry entry: a company mailbox (IMAP in, SMTP out).

Nothing here loads a mail library: connecting a mailbox (``connect``: both logins checked)
and sending (``send``) import theirs when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.channels.capabilities import Capabilities
from hub.channels.connector import LazyConnector
from hub.channels.email.config import TYPE, validate_config
from hub.channels.email.install import install
from hub.channels.email.openapi import EMAIL_OPENAPI
from hub.channels.email.scheduled_models import ScheduledEmail
from hub.channels.email.status import channel_status
from hub.channels.email.system_mail import check_settings
from hub.channels.hooks import ContactRows
from hub.channels.spec import ChannelSpec, CliOption

if TYPE_CHECKING:
    from hub.channels.admin import CreatedChannel
    from hub.settings import Settings


def describe(created: CreatedChannel, settings: Settings) -> list[str]:
    """The mailbox and its servers, as checked (never a password)."""
    config = created.channel["config"]
    imap, smtp = config["imap"], config["smtp"]
    lines = [
        f"mailbox: {config['address']}",
        f"incoming: IMAP {imap['host']}:{imap['port']} ({imap['security']}), "
        f"folder {imap['folder']}, login checked",
        f"outgoing: SMTP {smtp['host']}:{smtp['port']} ({smtp['security']}), login checked",
    ]
    if config.get("dkim"):
        lines.append(f"DKIM: selector {config['dkim']['selector']} of {config['dkim']['domain']}")
    lines.append(f"open and click tracking: {'on' if config.get('tracking', True) else 'off'}")
    if config.get("system_mail"):
        lines.append("sends the hub's own mail (operators' invitations, password links)")
    if config.get("linked_widget_channel_ids"):
        chats = ", ".join(str(i) for i in config["linked_widget_channel_ids"])
        lines.append(f"answers by email the visitors who left the website chats: {chats}")
    return lines


def _option(flag: str, key: str, help: str, *, secret: bool = False) -> CliOption:
    return CliOption(flag, key, help, secret=secret)


SPEC = ChannelSpec(
    TYPE,
    validate_config,
    install,
    connector=LazyConnector("hub.channels.email.connect"),
    capabilities=Capabilities(files=True, html=True, threads=True),
    title="Email",
    badge="MAIL",
    cli_options=(
        _option("--address", "address", "the mailbox's address, e.g. sales@company.ru"),
        _option("--display-name", "display_name", "the name in From, e.g. 'Company Sales'"),
        _option("--preset", "preset", "fill servers and ports: yandex (Yandex 360) or mailru"),
        _option("--imap-host", "imap.host", "IMAP server, e.g. imap.yandex.ru"),
        _option("--imap-port", "imap.port", "IMAP port (993 with tls, 143 with starttls)"),
        _option("--imap-security", "imap.security", "tls (implicit, default) or starttls"),
        _option("--imap-login", "imap.login", "IMAP login (default: the address)"),
        _option("--imap-password", "imap.password", "IMAP (app) password", secret=True),
        _option("--folder", "imap.folder", "the folder mail is read from (default INBOX)"),
        _option("--smtp-host", "smtp.host", "SMTP server, e.g. smtp.yandex.ru"),
        _option("--smtp-port", "smtp.port", "SMTP port (465 with tls, 587 with starttls)"),
        _option("--smtp-security", "smtp.security", "tls (implicit, default) or starttls"),
        _option("--smtp-login", "smtp.login", "SMTP login (default: the address)"),
        _option(
            "--smtp-password",
            "smtp.password",
            "SMTP (app) password (default: the IMAP password)",
            secret=True,
        ),
        _option("--dkim-selector", "dkim.selector", "DKIM selector, to sign what is sent"),
        _option("--dkim-domain", "dkim.domain", "DKIM domain (d=)"),
        _option("--dkim-private-key", "dkim.private_key", "DKIM private key (PEM)", secret=True),
        _option(
            "--system-mail",
            "system_mail",
            "send the hub's own mail (operators' invitations, password links) from this "
            "mailbox: on or off (default)",
        ),
        _option(
            "--tracking",
            "tracking",
            "open and click tracking of the email operators send: on (default) or off",
        ),
        CliOption(
            "--answers-chat",
            "linked_widget_channel_ids",
            "a website chat (its widget channel's id) whose visitors, gone from the page, get "
            "replies by email from this mailbox; repeat for more",
            repeated=True,
        ),
    ),
    describe=describe,
    openapi=EMAIL_OPENAPI,
    contact_rows=(ContactRows("scheduled_emails", ScheduledEmail),),
    status=channel_status,
    # The servers, the address and the passwords are checked by logging in: a mailbox whose
    # servers change is connected anew.
    editable_settings=frozenset(
        {
            "display_name",
            "plus_addressing",
            "linked_widget_channel_ids",
            "auto_leads",
            "tracking",
            "system_mail",
        }
    ),
    check_settings=check_settings,
)
