"""A mailbox's mails are stored side by side, each once the mails it follows are stored: a
sender's earlier mails, the mail it names in In-Reply-To or References, an earlier copy of
itself; strangers' mails run apart, across fetched batches too."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable

import pytest

from hub.channels.email.mail_order import MailOrder, order_keys
from tests.email_servers import mail


def test_a_mail_waits_on_its_sender_its_own_id_and_the_ids_it_names() -> None:
    waits, holds = order_keys(
        mail(sender="IVAN <Ivan@Mail.test>", message_id="c@x", headers="References: <a@x> <b@x>")
    )
    assert holds == ["from:ivan@mail.test", "id:c@x"]
    assert waits == ["from:ivan@mail.test", "id:c@x", "id:a@x", "id:b@x"]


def test_a_mail_that_starts_its_own_thread_waits_on_none_of_its_senders_mails() -> None:
    """Only a mail that may be threaded by what is stored reads its sender's conversations:
    one naming an earlier mail, one whose subject says it is a reply (encoded words too), one
    addressed to a plus address like the hub's reply tokens."""
    new = order_keys(mail(sender="ivan@mail.test", message_id="n@x", subject="Заказ"))
    assert new == (["id:n@x"], ["from:ivan@mail.test", "id:n@x"])
    russian_reply = "=?utf-8?b?" + base64.b64encode("Ответ: Заказ".encode()).decode() + "?="
    for raw in (
        mail(sender="ivan@mail.test", message_id="r@x", subject="Re: Заказ"),
        mail(sender="ivan@mail.test", message_id="r@x", subject=russian_reply),
        mail(sender="ivan@mail.test", message_id="r@x", to="sales+t0ken@company.ru"),
        mail(sender="ivan@mail.test", message_id="r@x", headers="Cc: sales+t0ken@company.ru"),
    ):
        assert order_keys(raw) == (
            ["from:ivan@mail.test", "id:r@x"],
            ["from:ivan@mail.test", "id:r@x"],
        )


class Journal:
    """Stores that end when the test lets them, recording the order they start in."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release: dict[str, asyncio.Event] = {}
        self.changed = asyncio.Condition()

    def job(self, name: str, fail: bool = False) -> Callable[[], Awaitable[int]]:
        self.release[name] = asyncio.Event()

        async def run() -> int:
            async with self.changed:
                self.started.append(name)
                self.changed.notify_all()
            await self.release[name].wait()
            if fail:
                raise RuntimeError(f"{name} failed")
            return 1

        return run

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with self.changed:
            await self.changed.wait_for(predicate)


async def test_followers_wait_and_strangers_run_side_by_side() -> None:
    order, j = MailOrder(at_once=10), Journal()
    raws = {
        "ivan1": mail(sender="ivan@mail.test", message_id="a@x"),
        "olga": mail(sender="olga@mail.test", message_id="b@x"),
        # The same address in another case; a reply by its subject, so it reads his threads.
        "ivan2": mail(sender="IVAN@mail.test", message_id="c@x", subject="RE: Hello"),
        "ivan3": mail(sender="ivan@mail.test", message_id="f@x", subject="New order"),
        "petr": mail(sender="petr@mail.test", message_id="d@x", headers="References: <b@x>"),
        "anna": mail(sender="anna@mail.test", message_id="e@x", headers="In-Reply-To: <zz@y>"),
    }
    tasks = {name: order.start(raw, j.job(name)) for name, raw in raws.items()}
    await j.until(lambda: len(j.started) == 4)
    await asyncio.sleep(0)
    # The followers wait; Ivan's new thread does not wait for his first mail.
    assert sorted(j.started) == ["anna", "ivan1", "ivan3", "olga"]
    j.release["olga"].set()
    await j.until(lambda: "petr" in j.started)  # the reply to Olga's mail starts after it
    assert "ivan2" not in j.started
    j.release["ivan1"].set()
    await j.until(lambda: "ivan2" in j.started)
    for event in j.release.values():
        event.set()
    assert [await t for t in tasks.values()] == [1] * 6


async def test_a_later_batch_starts_before_the_earlier_one_ends() -> None:
    order, j = MailOrder(at_once=10), Journal()
    slow = order.start(mail(sender="slow@mail.test"), j.job("slow"))
    later = order.start(mail(sender="quick@mail.test"), j.job("quick"))  # the next batch's
    j.release["quick"].set()
    assert await later == 1 and not slow.done()
    j.release["slow"].set()
    assert await slow == 1


async def test_at_once_bounds_the_stores_under_way() -> None:
    order, j = MailOrder(at_once=2), Journal()
    tasks = [order.start(mail(sender=f"s{i}@mail.test"), j.job(f"s{i}")) for i in range(4)]
    await j.until(lambda: len(j.started) == 2)
    for _ in range(5):
        await asyncio.sleep(0)
    assert j.started == ["s0", "s1"]
    j.release["s0"].set()
    await j.until(lambda: len(j.started) == 3)
    for event in j.release.values():
        event.set()
    assert [await t for t in tasks] == [1] * 4


async def test_a_failed_mail_fails_its_followers_without_storing_them() -> None:
    order, j = MailOrder(at_once=10), Journal()
    first = order.start(mail(sender="ivan@mail.test", message_id="a@x"), j.job("a", fail=True))
    reply = order.start(mail(sender="olga@mail.test", headers="In-Reply-To: <a@x>"), j.job("reply"))
    j.release["a"].set()
    with pytest.raises(RuntimeError, match="a failed"):
        await first
    with pytest.raises(RuntimeError, match="a failed"):
        await reply
    assert j.started == ["a"]


async def test_mails_without_a_sender_or_an_id_follow_nobody() -> None:
    assert order_keys(b"Subject: no sender\r\n\r\nhi") == ([], [])
    order, j = MailOrder(at_once=10), Journal()
    first = order.start(b"", j.job("first"))
    second = order.start(b"Subject: no sender\r\n\r\nhi", j.job("second"))
    await j.until(lambda: len(j.started) == 2)
    j.release["first"].set()
    j.release["second"].set()
    assert [await first, await second] == [1, 1]
