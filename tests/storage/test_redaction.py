"""Redaction before storage: real-world formats from several countries and scripts, and no false positives.

Decisions: dates (12/05/2024, 12.05.2024, 2024-05-12) and year ranges (2023-2027) are kept; so are years,
small numbers, percentages, "8.7", times and comma-grouped amounts (1,500,000). Seven or more digits with
spaces between them ("1 500 000") are removed like a phone number: they cannot be told apart.
"""

from __future__ import annotations

import pytest

from storage.privacy import redact

PHONES = [
    # Kenya
    ("KE", "call 0712 345 678 now", "call [phone] now"),
    ("KE", "call 0733-123-456 now", "call [phone] now"),
    ("KE", "mpigie +254 712 345 678 leo", "mpigie [phone] leo"),
    ("KE", "namba 254712345678", "namba [phone]"),
    # Nigeria
    ("NG", "ring 0803 123 4567 today", "ring [phone] today"),
    ("NG", "ring +234 803 123 4567 today", "ring [phone] today"),
    ("NG", "ring 08031234567", "ring [phone]"),
    # Peru
    ("PE", "llama al 987 654 321 por favor", "llama al [phone] por favor"),
    ("PE", "oficina (01) 234-5678", "oficina [phone]"),
    ("PE", "desde fuera +51 987 654 321", "desde fuera [phone]"),
    # Brazil
    ("BR", "liga (11) 91234-5678 amanhã", "liga [phone] amanhã"),
    ("BR", "liga +55 11 91234-5678", "liga [phone]"),
    # France
    ("FR", "appelle le 06.12.34.56.78", "appelle le [phone]"),
    ("FR", "appelle le 06 12 34 56 78", "appelle le [phone]"),
    ("FR", "appelle le +33 6 12 34 56 78", "appelle le [phone]"),
    # India, Latin and Devanagari digits
    ("IN", "call 98765 43210", "call [phone]"),
    ("IN", "फ़ोन ९८७६५ ४३२१० पर", "फ़ोन [phone] पर"),
    ("IN", "फ़ोन +९१ ९८७६५ ४३२१०", "फ़ोन [phone]"),
    # Egypt, Arabic-Indic and Eastern Arabic-Indic (Persian) digits
    ("EG", "اتصل ٠١٠١٢٣٤٥٦٧٨ الآن", "اتصل [phone] الآن"),
    ("EG", "اتصل +٢٠ ١٠ ١٢٣٤ ٥٦٧٨", "اتصل [phone]"),
    ("EG", "اتصل 010 1234 5678", "اتصل [phone]"),
    ("EG", "اتصل ۰۱۰۱۲۳۴۵۶۷۸", "اتصل [phone]"),
    # Philippines
    ("PH", "text 0917 123 4567 po", "text [phone] po"),
    ("PH", "text +63 917 123 4567", "text [phone]"),
    # Cyrillic text, Russian format
    ("RU", "позвоните 8 (912) 345-67-89", "позвоните [phone]"),
    # A foreign number in international format, whatever the consultation's country
    ("KE", "my cousin +33 6 12 34 56 78 in Paris", "my cousin [phone] in Paris"),
    ("KE", "US line +1 (202) 555-0143", "US line [phone]"),
]


@pytest.mark.parametrize(("region", "text", "expected"), PHONES, ids=lambda v: str(v)[:24])
def test_phone_numbers_in_local_and_international_formats(region: str, text: str, expected: str) -> None:
    assert redact(text, region) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("позвоните 8 (912) 345-67-89", "позвоните [number]"),  # no region: a long digit run still goes
        ("رقم ٠١٢٣٤٥٦٧٨٩ هنا", "رقم [number] هنا"),
        ("नंबर १२३४५६७८९ है", "नंबर [number] है"),
        ("call 0712 345 678", "call [number]"),
    ],
)
def test_without_a_region_long_digit_runs_still_go(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe@example.org now", "write to [email] now"),
        ("écris à marie-claire+aide@exemple.fr.", "écris à [email]."),
        ("пишите мария@почта.рф", "пишите [email]"),
        ("邮件 用户@例子.广告 谢谢", "邮件 [email] 谢谢"),
        ("أرسل إلى علي@مثال.مصر", "أرسل إلى [email]"),
    ],
)
def test_email_addresses_in_any_script(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see https://example.com/x?y=1. thanks", "see [link]. thanks"),
        ("(see http://example.org/a)", "(see [link])"),
        ("at www.test.org, or", "at [link], or"),
        ("join t.me/helpme now", "join [link] now"),
        ("join https://t.me/+AbCdEf123 now", "join [link] now"),
        ("join T.me/joinchat/AbC", "join [link]"),
        ("open tg://resolve?domain=someone", "open [link]"),
        ("site example.co.ke/path/x and facebook.com", "site [link] and [link]"),
        ("сайт пример.рф", "сайт [link]"),
    ],
)
def test_links_including_telegram_and_bare_domains(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ask @helper_bot_99 on telegram", "ask [handle] on telegram"),
        ("find me @jo.", "find me [handle]."),
        ("insta @maria.lopez_22", "insta [handle]"),
        ("meet @ 5pm", "meet @ 5pm"),
    ],
)
def test_handles(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IBAN GB82 WEST 1234 5698 7654 32 please", "IBAN [number] please"),
        ("account KE12ABCD1234567890", "account [number]"),
        ("passport A1234567 taken", "passport [number] taken"),
        ("passport AK0123456 taken", "passport [number] taken"),
        ("case 123456789 open", "case [number] open"),
        ("ID ١٢٣٤٥٦٧٨", "ID [number]"),
        ("total 1 500 000 shillings", "total [number] shillings"),
    ],
)
def test_account_passport_and_long_numbers(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail canary.person\uff20example.org", "mail [email]"),  # a full-width at sign
        ("mail ｃａｎａｒｙ＠ｅｘａｍｐｌｅ．ｏｒｇ now", "mail [email] now"),
        ("mail canary.person\ufe6bexample.org", "mail [email]"),  # the small commercial at
        ("mail canary.person@\u200bexample.org", "mail [email]"),  # a zero-width space
        ("mail canary\u2060.person@example.org", "mail [email]"),  # a word joiner
        ("tg user @\u200bcanary_handle_one", "tg user [handle]"),
        ("tg user ＠canary_handle_one", "tg user [handle]"),
        ("tg T.ME/canary_handle_one", "tg [link]"),
        ("link EXAMPLE.COM", "link [link]"),
        ("call 071_234_5678", "call [number]"),
        ("call 0712*345*678", "call [number]"),
    ],
)
def test_disguised_addresses_handles_and_numbers(text: str, expected: str) -> None:
    """Forms an outside probe used to slip past: full-width or small signs, invisible characters inside a
    token, upper-case domains, digits joined by _ or *."""
    assert redact(text) == expected


KEPT = [
    "more schools in 2025 for 30 children",
    "In 2024, 45% of 1200 children in 3 districts; 45 % in others",
    "the 2023-2027 plan, the 2019/20 report and the 1990–2000 decade",
    "on 12/05/2024, 12.05.2024, 5/12/2024, 12-05-24 and 2024-05-12 at 10:30",
    "SDG 8.7 and target 16.2; 3.5 million people",
    "KES 1,500,000 and ₹ 50000 and R$ 1.500,00 and 250 000 euros",
    "COVID19, G20, ILO C182 and 4th of July",
    "في عام ٢٠٢٤ حوالي ٣٠٠ طفل، ١٢/٠٥/٢٠٢٤",
    "वर्ष २०२४ में ३० बच्चे",
    "Done.In the end, e.g. this, i.e. that.",
    "в 2024 году 15% детей",
    "می\u200cخواهم مدرسه\u200cها بیشتر باشد",  # Persian: the zero-width non-joiner is part of the words
    "family 👨\u200d👩\u200d👧 and कार्य\u200d",  # joiners in an emoji and an Indic script are kept
    "THE PLAN. IN 2025 AND U.S. AID",
]


@pytest.mark.parametrize("region", [None, "KE", "NG", "PE", "BR", "FR", "IN", "EG", "PH"])
@pytest.mark.parametrize("text", KEPT, ids=lambda t: t[:20])
def test_no_false_positives(text: str, region: str | None) -> None:
    assert redact(text, region) == text


def test_everything_at_once_keeps_the_message() -> None:
    text = "Ring Amina on 0712 345 678 or amina@mail.ke, @amina_k, t.me/amina — shelters by 2027 please"
    assert redact(text, "KE") == "Ring Amina on [phone] or [email], [handle], [link] — shelters by 2027 please"


def test_a_lone_surrogate_becomes_the_replacement_character() -> None:
    """Issue 10, item 8: text that UTF-8 cannot carry failed encryption and storage; redaction makes it whole."""
    cleaned = redact("Schools \ud83d and 0712 345 678 \udc00 😀", "KE")
    assert cleaned == "Schools \ufffd and [phone] \ufffd 😀"
    cleaned.encode()
