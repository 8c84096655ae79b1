"""Raw mail to the parsed mail: the recorded messages under tests/fixtures/email/, and the
broken ones real mailboxes hold (unknown charsets, raw 8-bit headers, broken parts, no From)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.channels.email.parse import ParsedMail, Unusable, decode_bytes, parse_mail
from hub.channels.email.quotes import fold
from hub.channels.email.threads import normalize_subject

FIXTURES = Path(__file__).parent / "fixtures" / "email"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parsed(raw: bytes, max_bytes: int | None = None) -> ParsedMail:
    mail = parse_mail(raw, max_bytes)
    assert isinstance(mail, ParsedMail), mail
    return mail


def test_a_gmail_mail_with_an_attachment() -> None:
    mail = parsed(fixture("gmail_first.eml"))
    assert (mail.sender.name, mail.sender.address) == ("Иван Петров", "ivan.petrov@gmail.com")
    assert mail.subject == "Коммерческое предложение"
    assert mail.message_id == "CAF1x8QwY7n2ZtQk=Pq9d3@mail.gmail.com"
    assert mail.delivered_to == ("sales@company.ru",)
    assert mail.text.startswith("Добрый день!\n\nПришлите")
    assert "\r" not in mail.text
    assert "gmail_signature" in mail.html
    [pdf] = mail.attachments
    assert (pdf.filename, pdf.content_type) == ("Реквизиты.pdf", "application/pdf")
    assert pdf.data.startswith(b"%PDF-1.4")
    assert mail.auto_submitted is None and mail.report is None and mail.problems == ()


def test_a_gmail_reply_keeps_its_thread_headers_and_cc() -> None:
    mail = parsed(fixture("gmail_reply.eml"))
    assert mail.in_reply_to == ("m.5.1.70dff62d7227691b@company.ru",)
    assert mail.references == (
        "CAF1x8QwY7n2ZtQk=Pq9d3@mail.gmail.com",
        "m.5.1.70dff62d7227691b@company.ru",
    )
    assert [(a.name, a.address) for a in mail.to] == [("Отдел продаж", "sales@company.ru")]
    assert [a.address for a in mail.cc] == ["anna@romashka.ru"]
    folded = fold(mail.text)
    assert folded.text == "Спасибо! А можно доставку на пятницу?"
    assert folded.quoted.startswith("пн, 30 нояб. 2026 г. в 21:05, Отдел продаж")
    assert "> Иван, добрый вечер!" in folded.quoted


def test_an_outlook_reply_in_windows_1251_without_references() -> None:
    mail = parsed(fixture("outlook_reply.eml"))
    assert mail.sender.name == "Иван Петров"
    assert mail.subject == "RE: Коммерческое предложение"
    assert mail.in_reply_to == () and mail.references == ()
    assert mail.to[0].address == "sales+c1.014e334e4530e402@company.ru"
    folded = fold(mail.text)
    assert folded.text.endswith("счёт оплатим сегодня.\n\nС уважением,\nИван Петров")
    assert folded.quoted.startswith("От: Отдел продаж")
    assert "доставка в пятницу возможна" in folded.quoted


def test_yandex_mail_in_koi8_r() -> None:
    mail = parsed(fixture("yandex_koi8r.eml"))
    assert mail.sender == mail.sender.__class__("Ольга Смирнова", "olga.smirnova@yandex.ru")
    assert mail.subject == "Доставка в Тверь"
    folded = fold(mail.text)
    assert folded.text == "Здравствуйте!\n\nСколько стоит доставка в Тверь?"
    assert folded.signature.startswith("-- \nОльга Смирнова")


def test_yandex_html_only_in_windows_1251_with_a_raw_8bit_subject() -> None:
    mail = parsed(fixture("yandex_cp1251.eml"))
    assert mail.subject == "Re: Счёт на оплату"  # raw bytes, no RFC 2047: the body's charset
    assert mail.html.startswith("<div>Добрый день!")
    folded = fold(mail.text)  # the text is made from the HTML
    assert folded.text == "Добрый день! Счёт получили, спасибо."
    assert "Ольга, счёт во вложении." in folded.quoted


def test_a_delivery_report_names_the_recipient_and_the_original_mail() -> None:
    mail = parsed(fixture("dsn_bounce.eml"))
    report = mail.report
    assert report is not None
    assert report.original_message_id == "m.9.1.358b260d62cdd5b3@company.ru"
    assert report.original_subject == "Re: Order 1042"
    [rcpt] = report.recipients
    assert (rcpt.address, rcpt.action, rcpt.status) == ("nobody@example.org", "failed", "5.1.1")
    assert rcpt.permanent
    assert "User unknown" in rcpt.diagnostic


def test_an_out_of_office_reply_is_marked_automatic() -> None:
    mail = parsed(fixture("auto_reply.eml"))
    assert mail.auto_submitted == "Auto-Submitted: auto-replied"
    assert mail.report is None


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Auto-Submitted: auto-generated", "Auto-Submitted: auto-generated"),
        ("X-Autoreply: yes", "X-Autoreply: yes"),
        ("Precedence: bulk", "Precedence: bulk"),
        ("Precedence: auto_reply", "Precedence: auto_reply"),
        ("X-Auto-Response-Suppress: All", "X-Auto-Response-Suppress: All"),
        ("Auto-Submitted: no", None),
        ("Precedence: list", None),
    ],
)
def test_automatic_mail_headers(header: str, reason: str | None) -> None:
    raw = f"From: a@b.ru\r\n{header}\r\nSubject: x\r\n\r\nbody\r\n".encode()
    assert parsed(raw).auto_submitted == reason


def test_an_unknown_charset_falls_back_and_says_so() -> None:
    body = "Привет, мир".encode()
    raw = (
        b"From: a@b.ru\r\nSubject: =?x-no-such?B?" + b"0J/RgNC40LLQtdGC" + b"?=\r\n"
        b"Content-Type: text/plain; charset=x-no-such\r\n\r\n" + body
    )
    mail = parsed(raw)
    assert mail.text == "Привет, мир"
    assert mail.subject == "Привет"
    assert any("x-no-such" in p for p in mail.problems)


def test_broken_parts_do_not_stop_the_parse() -> None:
    raw = (
        b"From: =?utf-8?B?broken!!?= <a@b.ru>\r\nTo: undisclosed-recipients:;\r\n"
        b"Subject: =?utf-8?Q?half\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"0J/RgNC4!!!broken\r\n"
        b"--XX\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=bad''%%\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nnot base64 at all\r\n"
    )  # and no closing boundary
    mail = parsed(raw)
    assert mail.sender.address == "a@b.ru"
    assert mail.to == ()
    assert len(mail.attachments) == 1


def test_a_mail_without_any_sender_is_unusable_not_an_exception() -> None:
    raw = b"To: sales@company.ru\r\nMessage-ID: <x1@y>\r\nSubject: hi\r\n\r\nbody\r\n"
    assert parse_mail(raw) == Unusable("the mail has no sender address (From)", "x1@y")
    assert parse_mail(b"") == Unusable("the mail has no sender address (From)", "")
    fallback = parsed(b"Sender: Box <box@y.ru>\r\nSubject: s\r\n\r\nb\r\n")
    assert fallback.sender.address == "box@y.ru"
    assert fallback.problems


def test_a_huge_mail_is_read_for_its_headers_only() -> None:
    raw = b"From: a@b.ru\r\nSubject: big\r\nMessage-ID: <big@b>\r\n\r\n" + b"x" * 5000
    mail = parsed(raw, max_bytes=1000)
    assert mail.too_large and mail.size == len(raw)
    assert (mail.subject, mail.message_id, mail.text) == ("big", "big@b", "")


def test_a_forwarded_mail_attached_is_a_file_not_the_body() -> None:
    inner = b"From: c@d.ru\r\nSubject: inner\r\n\r\ninner text\r\n"
    raw = (
        b"From: a@b.ru\r\nSubject: Fwd\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nsee below\r\n"
        b"--B\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--B--\r\n"
    )
    mail = parsed(raw)
    assert mail.text.strip() == "see below"
    [eml] = mail.attachments
    assert eml.filename.endswith(".eml") and b"inner text" in eml.data


def test_decode_bytes_guesses_cyrillic_single_byte_charsets() -> None:
    text = "съешь же ещё этих мягких французских булок"
    assert decode_bytes(text.encode("cp1251"), None) == text
    assert decode_bytes(text.encode("koi8-r"), None) == text
    assert decode_bytes(text.encode("koi8-r"), "koi8-r") == text
    assert decode_bytes(b"\xff\xfe", "utf-8") == "\ufffd\ufffd"


@pytest.mark.parametrize(
    "subject",
    ["Re: Заказ 15", "RE[2]: Заказ 15", "Fwd: Re: заказ  15", "Ответ: Заказ 15", "Fw: Заказ 15"],
)
def test_subjects_normalize_to_the_same(subject: str) -> None:
    assert normalize_subject(subject) == "заказ 15"


def test_folding_leaves_a_mail_that_is_only_quote_whole() -> None:
    assert fold("> only a quote\n> more").text == "> only a quote\n> more"
    answered = fold("> q1\nmy answer\n> q2\nanswer 2")
    assert answered.text == "> q1\nmy answer\n> q2\nanswer 2" and answered.quoted == ""
    assert fold("Ок\n\nОтправлено с iPhone").signature == "Отправлено с iPhone"
    outlook = fold(
        "Да\n\n________________\nFrom: S <s@c.ru>\nSent: Monday\nTo: me\nSubject: hi\n\nold"
    )
    assert outlook.text == "Да" and outlook.quoted.startswith("________________\nFrom:")
    wrapped = fold("Hi\n\nOn Mon, Dec 1, 2026 at 10:00 AM Maria <\ns@c.ru> wrote:\n> hello")
    assert wrapped.text == "Hi" and wrapped.quoted.endswith("> hello")
    assert fold("Ok\n\n-----Original Message-----\nFrom: x").quoted.startswith("-----Original")
    assert fold("Привет\n\n15.01.2024 12:00, Иван пишет:\n> x").text == "Привет"
