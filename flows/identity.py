"""Questions that would identify the person answering: a name, phone number, address, e-mail, ID number or exact
date of birth, found in a question's id (or XLSForm name), text and hint, in any of the languages below.

Used by `flows lint` and by the XLSForm importer: refused in survivor flows (the consent promises that no name
is asked), a warning in CSO flows. Only questions with a typed answer can ask for these (a choice cannot), so
only free-text, number and date questions are checked, and a date question only for a date of birth.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

LANGUAGES = ("en", "fr", "es", "pt", "ar", "sw", "fa", "zh")
"""Languages whose words are checked (every text is checked against all of them, whatever its column)."""

TYPED = ("free_text", "integer", "decimal", "date")
"""Step types whose answer could hold a name, a number or an address."""


@dataclass(frozen=True)
class Identifying:
    """What a question asks for that would identify a person, and what to do instead."""

    kind: str
    suggestion: str

    def describe(self) -> str:
        article = "an" if self.kind[0] in "aeiouI" else "a"
        return f"asks for {article} {self.kind}, which would identify a person; {self.suggestion}"


NAME = Identifying("name", "remove it (the bot never asks who someone is, and its consent says so)")
PHONE = Identifying(
    "phone number", "remove it (the bot never calls anyone; /results shows the outcome without a number)"
)
ADDRESS = Identifying("address", "ask for the region or district instead (a select_one of districts)")
EMAIL = Identifying("e-mail address", "remove it (/results shows the outcome without an address)")
ID_NUMBER = Identifying("ID or document number", "remove it (no document is needed to take part)")
BIRTH_DATE = Identifying(
    "exact date of birth", "ask for an age band instead (survivor flows already ask it after consent)"
)

_PERSON = {
    "en": r"respondent|interviewee|participant|person|child|kid|baby|mother|father|parent|caregiver|guardian|"
    r"spouse|husband|wife|victim|survivor|head of (?:the )?(?:household|hh|family)|household head|interviewer|"
    r"enumerator|employer|owner",
    "fr": r"r[ée]pondant|r[ée]pondante|enqu[êe]t[ée]e?|personne|participante?|enfant|m[èe]re|p[èe]re|parent|"
    r"tut(?:eur|rice)|conjoint|victime|survivante?|chef (?:de|du) (?:m[ée]nage|famille)|enqu[êe]teur|employeur",
    "es": r"encuestad[oa]|entrevistad[oa]|persona|participante|niñ[oa]|hij[oa]|madre|padre|tutora?|c[oó]nyuge|"
    r"espos[oa]|v[ií]ctima|sobreviviente|jef[ea] (?:de|del) hogar|encuestadora?|empleador",
    "pt": r"inquirid[oa]|entrevistad[oa]|pessoa|participante|criança|filh[oa]|m[ãa]e|pai|respons[áa]vel|"
    r"c[ôo]njuge|marido|esposa|v[íi]tima|sobrevivente|chefe (?:de|do) (?:agregado|domic[íi]lio|fam[íi]lia)|"
    r"entrevistadora?|empregador",
    "sw": r"mtoto|mhojiwa|muulizwaji|mshiriki|mtu|mama|baba|mzazi|mlezi|mume|mke|mwathirika|manusura|"
    r"mkuu wa (?:kaya|familia)|mhojaji|mwajiri",
}

_PATTERNS: list[tuple[Identifying, str]] = [
    # e-mail before address ("e-mail address"), ID before name ("name as on the ID card" is caught as a name)
    (
        EMAIL,
        r"\be-?mail\b|\bcourriel\b|\badresse (?:[ée]lectronique|e-?mail)|\bcorreo(?: electr[oó]nico)?\b|"
        r"\bcorreio eletr[oó]nico\b|البريد الإلكتروني|بريد إلكتروني|[اإ]يميل|\bbarua pepe\b|ایمیل|"
        r"پست الکترونیک|电子邮件|邮箱",
    ),
    (
        PHONE,
        r"\b(?:tele)?phone\b|\bmobile (?:number|no\b|telephone|phone)|\bcell ?(?:phone|number)\b|"
        r"\bwhats ?app\b|\bcontact (?:number|no\b|#)|\btel\.? ?(?:no\b|number|#)|\bt[ée]l[ée]phone\b|"
        r"\bportable\b|\bnum[ée]ro de (?:mobile|portable|contact)\b|\btel[ée]fono\b|\bcelular\b|\bm[oó]vil\b|"
        r"\btelefone\b|\btelem[oó]vel\b|\bn[uú]mero de contacto\b|هاتف|جو[اّ]ال|موبايل|واتساب|"
        r"رقم (?:التواصل|الاتصال)|\bsimu\b|شماره (?:تماس|تلفن|مبایل|موبایل)|تلفن|مبایل|电话|手机",
    ),
    (
        ID_NUMBER,
        r"\bid ?(?:number|no\b|card|#)|\bidentity (?:card|number|document)|\bidentification (?:number|card|"
        r"document)|\bnational id\b|\bpassport\b|\bsocial security\b|\bdriv(?:er'?s|ing) licen[cs]e\b|"
        r"\bbirth certificate number\b|\btazk[iea]?ra\b|\btazkar\b|\bnum[ée]ro d['’]identit[ée]\b|"
        r"\b(?:carte|pi[èe]ce) d['’]identit[ée]\b|\bpasseport\b|\bs[ée]curit[ée] sociale\b|\bcni\b|"
        r"\bn[uú]mero de (?:identidad|identificaci[oó]n|documento|c[ée]dula|pasaporte)\b|"
        r"\bdocumento (?:nacional )?de identidad\b|\bc[ée]dula\b|\bdni\b|\bpasaporte\b|"
        r"\bn[uú]mero de identifica[cç][aã]o\b|\bbilhete de identidade\b|\bcart[aã]o de cidad[aã]o\b|"
        r"\bpassaporte\b|\bcpf\b|\bnif\b|رقم الهوية|بطاقة الهوية|الهوية الوطنية|جواز السفر|الرقم الوطني|"
        r"رقم جواز|\bkitambulisho\b|\bpasipoti\b|تذکره|پاسپورت|کارت ملی|身份证|护照",
    ),
    (
        BIRTH_DATE,
        r"\bdate of birth\b|\bbirth ?date\b|\bbirthday\b|\bwhen were you born\b|\bdob\b|\bborn on\b|"
        r"\bdate de naissance\b|\bn[ée]e? le\b|\bquand [êe]tes-vous n[ée]e?\b|\bfecha de nacimiento\b|"
        r"\bcu[aá]ndo naci(?:[oó]|ste)\b|\bdata de nascimento\b|\bquando nasceu\b|تاريخ (?:ال)?ميلاد|متى ولدت|"
        r"\btarehe ya kuzaliwa\b|\bulizaliwa lini\b|\bsiku ya kuzaliwa\b|تاریخ تولد|出生日期|生日",
    ),
    (
        ADDRESS,
        r"(?<!web )(?<!ip )\baddress\b|\bstreet\b|\bhouse (?:number|no\b)|\badresse\b|\bdomicile\b|"
        r"\bdirecci[oó]n\b|\bdomicilio\b|\bcalle\b|\bendere[cç]o\b|\bmorada\b|\brua\b|عنوانك|العنوان|"
        r"عنوان (?:السكن|المنزل|الإقامة)|الشارع|\banwani\b|\bnamba ya nyumba\b|آدرس|نشانی|地址|住址",
    ),
    (
        NAME,
        r"\byour (?:full |first |last |family |given |middle |sur)?name\b|"
        r"\b(?:first|last|full|given|family|maiden|middle) name\b|\bsurname\b|\bwhat are you called\b|"
        rf"\bname of (?:the |your )?(?:{_PERSON['en']})\b|\b(?:{_PERSON['en']})(?:'s|’s|s)? name\b|"
        r"\b(?:votre|ton) (?:nom|pr[ée]nom)\b|\bpr[ée]noms?\b|\bnom (?:de famille|complet)\b|"
        rf"\bnom (?:et pr[ée]nom |du |de la |de l['’]|des |de )(?:{_PERSON['fr']})\b|"
        r"\bcomment (?:vous appelez-vous|t['’]appelles-tu)\b|"
        r"\b(?:su|tu) nombre\b|\bnombre completo\b|\bapellidos?\b|\bc[oó]mo (?:se llama|te llamas)\b|"
        rf"\bnombre (?:del |de la |de )(?:{_PERSON['es']})\b|"
        r"\b(?:seu|teu) nome\b|\bnome completo\b|\bsobrenome\b|\bapelido\b|"
        r"\bcomo (?:se chama|voc[êe] se chama|te chamas)\b|"
        rf"\bnome (?:do |da |de )(?:{_PERSON['pt']})\b|"
        r"اسمك|اسمكم|الاسم الكامل|الاسم الأول|اسم العائلة|اسم الأب|اسم الأم|ما اسم|"
        r"اسم (?:المستجيب|المشارك|الشخص|الطفل|رب الأسرة|الضحية|الناجي|المبحوث)|"
        r"\bjina (?:lako|yako|kamili)\b|\bmajina yako\b|\bjina la (?:ukoo|kwanza|mwisho|familia)\b|"
        rf"\bjina la (?:{_PERSON['sw']})\b|\bunaitwa\b|"
        r"نام (?:شما|پاسخ ?دهنده|سرپرست خانواده|مصاحبه ?کننده|پدر|مادر|طفل|کودک)|نام و تخلص|تخلص|"
        r"نام خانوادگی|اسم شما|姓名|名字",
    ),
]
_COMPILED = [(finding, re.compile(pattern, re.IGNORECASE)) for finding, pattern in _PATTERNS]
_SENTENCE = re.compile(r"(?<=[.?!؟;。？！])\s+|\n+")
_DO_NOT = re.compile(
    r"\b(?:do not|don't|never|please avoid|without)\b|\bne\b[^.?!]*\bpas\b|\bsans\b|"
    r"\bno (?:escriba|escribas|ponga|d[eé]|incluya|comparta)\b|\bsin\b|"
    r"\bn[aã]o (?:escreva|coloque|d[eê]|inclua|partilhe|compartilhe)\b|\bsem\b|"
    r"عدم|لا تكتب|لا تذكر|بدون|دون|\busiandike\b|\bmsiandike\b|\busitaje\b|\bbila\b|ننویسید|بدون|不要|请勿",
    re.IGNORECASE,
)
"""A sentence that asks people NOT to give something ("Please do not write names or phone numbers")."""
_BARE_NAME = re.compile(r"^(?:names?|full name|nom|noms|nombre|nome|الاسم|اسم|jina|majina|نام|姓名)$", re.IGNORECASE)
_NUMBERING = re.compile(r"^[\s\d.#)(\-:]+|[\s:.?!*#]+$")

_NAME_WORDS = {"name", "names", "nom", "nombre", "nome", "jina"}
_NAME_COMPOUNDS = {"surname", "firstname", "lastname", "fullname", "fname", "lname", "givenname", "familyname"}
_NAME_OWNERS = {
    "first",
    "last",
    "full",
    "given",
    "family",
    "sur",
    "middle",
    "maiden",
    "my",
    "your",
    "resp",
    "respondent",
    "child",
    "childs",
    "kid",
    "kids",
    "participant",
    "person",
    "interviewee",
    "mother",
    "father",
    "parent",
    "caregiver",
    "guardian",
    "spouse",
    "hh",
    "head",
    "victim",
    "survivor",
    "interviewer",
    "enumerator",
    "employer",
    "owner",
}
_PHONE_WORDS = {
    "phone",
    "telephone",
    "tel",
    "mobile",
    "cellphone",
    "msisdn",
    "whatsapp",
    "telefone",
    "telefono",
    "simu",
}
_EMAIL_WORDS = {"email", "mail", "courriel", "correo"}
_ADDRESS_WORDS = {"address", "addr", "street", "adresse", "direccion", "endereco", "morada", "anwani"}
_ID_WORDS = {"passport", "nid", "ssn", "idno", "cedula", "dni", "cpf", "tazkira", "tazkera", "tazkara", "passeport"}
_BIRTH_WORDS = {"dob", "birthdate", "birthday"}


def _words(identifier: str) -> list[str]:
    """`respondentName`, `resp-name`, `tel.mobile` -> lower-case words."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", identifier)
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def _from_identifier(identifier: str, texts: list[str]) -> Identifying | None:
    words = _words(identifier)
    found = set(words)
    pairs = set(pairwise(words))
    if found & _EMAIL_WORDS or ("e", "mail") in pairs:
        return EMAIL
    if (found & _PHONE_WORDS and "money" not in found) or pairs & {("contact", "number"), ("contact", "no")}:
        return PHONE
    if found & _ID_WORDS or pairs & {("national", "id"), ("id", "number"), ("id", "no"), ("id", "card")}:
        return ID_NUMBER
    if found & _BIRTH_WORDS or ("birth", "date") in pairs or (("date", "of") in pairs and "birth" in found):
        return BIRTH_DATE
    if found & _ADDRESS_WORDS:
        return ADDRESS
    if found & _NAME_COMPOUNDS:
        return NAME
    for index, word in enumerate(words):
        if word in _NAME_WORDS:
            neighbours = {words[i] for i in (index - 1, index + 1) if 0 <= i < len(words)}
            if neighbours & _NAME_OWNERS:
                return NAME
            if len(words) == 1 and all(not t.strip() or _BARE_NAME.match(_NUMBERING.sub("", t)) for t in texts):
                return NAME  # a question called `name` that says no more than "Name"
    return None


def identifying(step_type: str, identifier: str | None, texts: Iterable[str]) -> Identifying | None:
    """What this question asks for that would identify a person (None when nothing): `identifier` is its
    step id or XLSForm name, `texts` its question and hint in every language."""
    if step_type not in TYPED:
        return None
    shown = [t for t in texts if t]
    for text in shown:
        for sentence in _SENTENCE.split(text.replace("’", "'")):
            cleaned = " ".join(sentence.split())
            if not cleaned or _DO_NOT.search(cleaned):
                continue
            for finding, pattern in _COMPILED:
                if pattern.search(cleaned) and (step_type != "date" or finding is BIRTH_DATE):
                    return finding
            if _BARE_NAME.match(_NUMBERING.sub("", cleaned)) and step_type != "date":
                return NAME
    if identifier:
        found = _from_identifier(identifier, shown)
        if found is not None and (step_type != "date" or found is BIRTH_DATE):
            return found
    return None
