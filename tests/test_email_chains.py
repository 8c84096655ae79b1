"""A fetched batch is cut into chains stored side by side: a sender's mails, and a reply with
the mail it names, stay in one chain in UID order; strangers' mails run apart."""

from __future__ import annotations

from hub.channels.email.chains import chains
from tests.email_servers import mail


def test_a_senders_mails_and_a_reply_to_a_mail_of_the_batch_share_a_chain() -> None:
    raws = [
        mail(sender="Ivan <ivan@mail.test>", message_id="a@x"),
        mail(sender="Olga <olga@mail.test>", message_id="b@x"),
        mail(sender="IVAN@mail.test", message_id="c@x"),  # the same address, other case
        # A colleague answers Olga's mail, naming it in References only.
        mail(sender="Petr <petr@mail.test>", message_id="d@x", headers="References: <b@x>"),
        mail(sender="Anna <anna@mail.test>", message_id="e@x", headers="In-Reply-To: <zz@y>"),
    ]
    assert chains(raws) == [[0, 2], [1, 3], [4]]


def test_mails_without_a_sender_join_no_ones_chain() -> None:
    raws = [b"", mail(message_id="a@x"), b"Subject: no sender\r\n\r\nhi", mail(sender="o@x.test")]
    assert chains(raws) == [[0], [1], [2], [3]]
