"""A mailbox's worth of realistic customer mail for ``bench.email_imap``, the same every run.

Why: the cost of reading mail depends on what the mail is like, so the benchmark does not
append one message a thousand times. From a fixed seed: 200 senders (Russian and English names,
Gmail, Yandex, Mail.ru, Outlook and company domains), first messages and replies to earlier
ones of the same thread (``Re:`` subjects, In-Reply-To naming the company's answer,
References naming the thread's earlier mail, the history quoted as Gmail or Outlook quote it in
English or Russian), signatures, a quarter as HTML with a text part, a few in KOI8-R or
windows-1251, and a few small attachments (a PDF, a PNG, a CSV).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

FIRST_RU = ("Иван", "Ольга", "Сергей", "Анна", "Дмитрий", "Мария", "Алексей", "Елена", "Павел")
LAST_RU = ("Петров", "Смирнова", "Кузнецов", "Иванова", "Соколов", "Попова", "Лебедев", "Орлова")
FIRST_EN = ("John", "Emma", "Michael", "Olivia", "David", "Sophia", "James", "Grace", "Peter")
LAST_EN = ("Smith", "Johnson", "Brown", "Taylor", "Wilson", "Clarke", "Walker", "Hughes")
DOMAINS = ("gmail.com", "yandex.ru", "mail.ru", "outlook.com", "bk.ru", "stroy-trade.ru", "acme.io")
SUBJECTS_RU = (
    "Вопрос по заказу №{n}",
    "Счёт на оплату",
    "Доставка в Казань",
    "Не работает личный кабинет",
    "Коммерческое предложение",
    "Возврат товара по заказу {n}",
    "Скидка для постоянных клиентов",
)
SUBJECTS_EN = (
    "Question about order #{n}",
    "Invoice request",
    "Shipping to Berlin",
    "Cannot log in to my account",
    "Partnership proposal",
    "Refund for order {n}",
)
LINES_RU = (
    "Добрый день!",
    "Подскажите, пожалуйста, когда будет доставка?",
    "Оплату провели вчера, платёжка во вложении.",
    "Нужен счёт на юрлицо, реквизиты ниже.",
    "Спасибо за быстрый ответ, всё получилось.",
    "Можно ли изменить адрес доставки на ул. Ленина, 15?",
    "Товар пришёл с повреждённой упаковкой, что делать?",
    "Сколько будет стоить партия из 200 штук?",
)
LINES_EN = (
    "Hello,",
    "Could you tell me when my order will ship?",
    "We paid the invoice yesterday, the receipt is attached.",
    "Please send an invoice for our company, details below.",
    "Thanks for the quick answer, it works now.",
    "Can I change the delivery address to 15 High Street?",
    "The parcel arrived damaged, what should I do?",
    "What would 200 units cost?",
)
COMPANY = "sales@company.ru"
# A 1x1 PNG: stored_type checks an image's type against its bytes.
_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@dataclass
class Sender:
    name: str
    address: str
    russian: bool
    threads: list[Thread] = field(default_factory=list)


@dataclass
class Thread:
    subject: str
    message_ids: list[str] = field(default_factory=list)
    last_text: str = ""


@dataclass(frozen=True)
class Corpus:
    mails: list[bytes]
    #: Every mail's Message-ID, without the angle brackets (as the hub stores it).
    message_ids: list[str]
    #: Threads the mail makes: the conversations the hub should end with.
    threads: int
    replies: int
    html: int
    attachments: int


def _senders(rnd: random.Random, count: int) -> list[Sender]:
    senders = []
    for i in range(count):
        russian = rnd.random() < 0.6
        first = rnd.choice(FIRST_RU if russian else FIRST_EN)
        last = rnd.choice(LAST_RU if russian else LAST_EN)
        local = f"client{i}.{rnd.randrange(10, 99)}"
        senders.append(Sender(f"{first} {last}", f"{local}@{rnd.choice(DOMAINS)}", russian))
    return senders


def _quote(sender: Sender, text: str, when: datetime) -> str:
    quoted = "\n".join("> " + line for line in text.splitlines())
    if sender.russian:
        head = f"{when:%d.%m.%Y} в {when:%H:%M}, Отдел продаж <{COMPANY}>:"
    else:
        head = f"On {when:%a, %d %b %Y} at {when:%H:%M}, Sales <{COMPANY}> wrote:"
    return f"{head}\n{quoted}"


def build(count: int = 1000, senders: int = 200, seed: int = 15) -> Corpus:
    rnd = random.Random(seed)
    people = _senders(rnd, senders)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    mails: list[bytes] = []
    ids: list[str] = []
    threads = replies = html = attachments = 0
    for n in range(count):
        who = rnd.choice(people)
        when = start + timedelta(minutes=3 * n)
        lines = LINES_RU if who.russian else LINES_EN
        text = "\n".join([lines[0], *rnd.sample(lines[1:], rnd.randint(1, 4))])
        if rnd.random() < 0.5:
            first = who.name.split()[0]
            text += f"\n\n-- \n{'С уважением' if who.russian else 'Best regards'}, {first}"
        mid = f"bench{n}.{rnd.getrandbits(32):08x}@{who.address.split('@')[1]}"
        msg = EmailMessage()
        msg["From"] = formataddr((who.name, who.address))
        msg["To"] = formataddr(("Отдел продаж", COMPANY))
        msg["Date"] = format_datetime(when)
        msg["Message-ID"] = f"<{mid}>"
        if who.threads and rnd.random() < 0.35:
            thread = rnd.choice(who.threads)
            answer = f"answer{n}.{rnd.getrandbits(32):08x}@company.ru"
            msg["Subject"] = "Re: " + thread.subject
            msg["In-Reply-To"] = f"<{answer}>"
            msg["References"] = " ".join(f"<{m}>" for m in [*thread.message_ids, answer])
            body = text + "\n\n" + _quote(who, thread.last_text, when - timedelta(hours=1))
            replies += 1
        else:
            pattern = rnd.choice(SUBJECTS_RU if who.russian else SUBJECTS_EN)
            thread = Thread(pattern.format(n=rnd.randrange(1000, 99999)))
            who.threads.append(thread)
            msg["Subject"] = thread.subject
            body = text
            threads += 1
        thread.message_ids.append(mid)
        thread.last_text = text
        charset = "utf-8"
        if who.russian and rnd.random() < 0.05:
            charset = rnd.choice(("koi8-r", "windows-1251"))
        msg.set_content(body, charset=charset)
        if rnd.random() < 0.25:
            paragraphs = "".join(f"<p>{line}</p>" for line in body.splitlines() if line)
            msg.add_alternative(
                f'<html><body><div style="font-family:Arial">{paragraphs}</div>'
                f'<img src="https://tracker.example/p.gif?m={n}"></body></html>',
                subtype="html",
            )
            html += 1
        if rnd.random() < 0.03:
            _attach(msg, rnd, n)
            attachments += 1
        mails.append(msg.as_bytes(policy=SMTP))
        ids.append(mid)
    return Corpus(mails, ids, threads, replies, html, attachments)


def _attach(msg: EmailMessage, rnd: random.Random, n: int) -> None:
    kind = rnd.choice(("pdf", "png", "csv"))
    if kind == "png":
        msg.add_attachment(_PNG, maintype="image", subtype="png", filename=f"photo{n}.png")
    elif kind == "pdf":
        filler = zlib.compress(rnd.randbytes(2000))
        data = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + filler + b"\n%%EOF\n"
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=f"счёт-{n}.pdf")
    else:
        rows = "\n".join(f"{i};товар {i};{rnd.randrange(100, 9999)}" for i in range(50))
        msg.add_attachment(rows.encode(), maintype="text", subtype="csv", filename=f"list{n}.csv")
