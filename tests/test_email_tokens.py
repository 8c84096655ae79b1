"""The signed Message-IDs and reply addresses that thread customers' replies."""

from hub.channels.email import tokens

KEY = "k" * 48


def test_a_message_id_names_its_conversation() -> None:
    made = tokens.message_id(KEY, 41, 7, "company.ru")
    assert made.startswith("m.41.7.") and made.endswith("@company.ru")
    assert tokens.conversation_of_message_id(KEY, f"<{made}>") == 7
    assert tokens.conversation_of_message_id(KEY, made.upper()) == 7


def test_a_forged_or_foreign_message_id_names_none() -> None:
    made = tokens.message_id(KEY, 41, 7, "company.ru")
    assert tokens.conversation_of_message_id("other" * 10, made) is None
    forged = made.replace("m.41.7.", "m.41.8.")
    assert tokens.conversation_of_message_id(KEY, forged) is None
    assert tokens.conversation_of_message_id(KEY, "CAF=xyz@mail.gmail.com") is None
    assert tokens.conversation_of_message_id(KEY, tokens.new_message_id("company.ru")) is None


def test_a_reply_address_carries_its_conversation() -> None:
    address = tokens.reply_address(KEY, "sales@company.ru", 12)
    assert address.startswith("sales+c12.") and address.endswith("@company.ru")
    assert tokens.conversation_of_address(KEY, address) == 12
    assert tokens.conversation_of_address(KEY, f"<{address.upper()}>") == 12


def test_a_guessed_token_or_plain_address_names_none() -> None:
    address = tokens.reply_address(KEY, "sales@company.ru", 12)
    assert tokens.conversation_of_address(KEY, address.replace("+c12.", "+c13.")) is None
    assert tokens.conversation_of_address(KEY, "sales@company.ru") is None
    assert tokens.conversation_of_address(KEY, "sales+news@company.ru") is None
    assert tokens.domain_of("Sales@Company.RU") == "company.ru"
