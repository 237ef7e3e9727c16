"""The registrant contact: country, subdivision (``state``) and phone checked against ISO 3166 and ITU."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.contact import Contact
from testkit.factories import person


def contact(**overrides: Any) -> Contact:
    return Contact(**person(**overrides))


def rejected(**overrides: Any) -> dict[str, str]:
    """The (field, reason) pairs pydantic reports for a contact built with ``overrides``."""
    with pytest.raises(ValidationError) as caught:
        contact(**overrides)
    return {".".join(str(p) for p in e["loc"]): str(e["msg"]) for e in caught.value.errors()}


# -- state: an ISO 3166-2 code of the contact's country, or free text -----------------------------------
@pytest.mark.parametrize(
    ("country", "given", "stored", "code", "text"),
    [
        ("FR", "FR-IDF", "FR-IDF", "FR-IDF", "Île-de-France"),
        ("FR", "fr-idf", "FR-IDF", "FR-IDF", "Île-de-France"),  # codes are case-insensitive
        ("RO", "RO-B", "RO-B", "RO-B", "București"),
        ("RO", "RO-CJ", "RO-CJ", "RO-CJ", "Cluj"),
        # FR-J is Gandi's documented example: Île-de-France's letter code before ISO 3166-2:FR's 2016 change
        ("FR", "FR-J", "FR-IDF", "FR-IDF", "Île-de-France"),
        ("FR", "FR-V", "FR-ARA", "FR-ARA", "Auvergne-Rhône-Alpes"),  # Rhône-Alpes, merged in 2016
        ("US", "CA", "US-CA", "US-CA", "California"),  # a bare subdivision part of the country's code
        # text: kept as given for ROTLD; a name pycountry knows in that country gives Gandi its code
        ("FR", "Île-de-France", "Île-de-France", "FR-IDF", "Île-de-France"),
        ("RO", "Bucuresti", "Bucuresti", "RO-B", "Bucuresti"),  # no diacritics, still București
        ("RO", "cluj", "cluj", "RO-CJ", "cluj"),
        ("RO", "Sector 6", "Sector 6", None, "Sector 6"),  # unknown to pycountry: text only
        ("FR", "Cluj", "Cluj", None, "Cluj"),  # a Romanian name is only text for a French contact
        ("AZ", "Lənkəran", "Lənkəran", None, "Lənkəran"),  # two AZ subdivisions bear that name: no guess
    ],
)
def test_state_is_a_code_of_the_country_or_text(
    country: str, given: str, stored: str, code: str | None, text: str
) -> None:
    owner = contact(country=country, state=given)
    assert (owner.state, owner.state_code, owner.state_text) == (stored, code, text)


def test_no_state_gives_neither_a_code_nor_a_text() -> None:
    owner = contact()
    assert (owner.state, owner.state_code, owner.state_text) == (None, None, None)


@pytest.mark.parametrize(
    ("country", "given", "fragments"),
    [
        ("FR", "RO-B", ("RO-B", "RO", "FR")),  # another country's code
        ("RO", "FR-IDF", ("FR-IDF", "FR", "RO")),
        ("FR", "FR-ZZZ", ("FR-ZZZ", "not an ISO 3166-2 subdivision of FR")),  # right prefix, no such code
        ("RO", "RO-J", ("RO-J", "not an ISO 3166-2 subdivision of RO")),  # FR-J's alias is French only
        ("FR", "QQ-12", ("QQ-12", "FR")),  # looks like a code, but of no country
    ],
)
def test_a_code_outside_the_country_is_refused_naming_state(
    country: str, given: str, fragments: tuple[str, ...]
) -> None:
    problems = rejected(country=country, state=given)
    assert list(problems) == ["state"], problems
    for fragment in fragments:
        assert fragment in problems["state"]


def test_the_same_subdivision_written_two_ways_is_one_registrant() -> None:
    assert contact(state="FR-J").fingerprint() == contact(state="fr-idf").fingerprint()
    assert contact(state="FR-J").fingerprint() != contact(state="FR-ARA").fingerprint()


# -- country: a real ISO 3166-1 alpha-2 code -------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "fragment"),
    [("XX", "XX is not an ISO 3166-1 alpha-2"), ("UK", "GB"), ("France", "ISO 3166"), ("F", "ISO 3166")],
)
def test_country_must_be_a_real_iso_3166_1_code(given: str, fragment: str) -> None:
    problems = rejected(country=given)
    assert "country" in problems and fragment in problems["country"], problems


def test_country_is_upper_cased() -> None:
    assert contact(country="fr").country == "FR"


def test_a_state_is_not_checked_against_a_country_that_failed() -> None:
    assert list(rejected(country="XX", state="FR-IDF")) == ["country"]


# -- phone: +CC.NUMBER with a real country calling code --------------------------------------------------
@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("+33.612345678", "+33.612345678"),
        ("+33 6 12 34 56 78", "+33.612345678"),  # E.164 without the dot: the calling code is found
        ("+33.6 12-34-56-78", "+33.612345678"),
        ("+33.0612345678", "+33.612345678"),  # the national trunk prefix is not part of +CC.NUMBER
        ("+39.0612345678", "+39.0612345678"),  # Italy keeps its leading zero
        ("+1.2125550123", "+1.2125550123"),
        ("+40.727636787", "+40.727636787"),
    ],
)
def test_phone_is_normalised_to_the_registries_form(given: str, stored: str) -> None:
    assert contact(phone=given).phone == stored


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("0612345678", "+CC.NUMBER"),  # national form: no calling code at all
        ("+999.612345678", "country calling code"),  # 999 is not assigned
        ("+33.6123", "too short"),
        ("+33.61234567890123", "too long"),
        ("+33.61a345678", "+CC.NUMBER"),
    ],
)
def test_a_bad_phone_is_refused_without_echoing_it(given: str, fragment: str) -> None:
    problems = rejected(phone=given)
    assert list(problems) == ["phone"], problems
    reason = problems["phone"]
    assert fragment in reason
    digits = given.replace("+", "").replace(".", "")
    assert digits not in reason and digits[-4:] not in reason  # personal data: never in an error


def test_an_empty_state_is_no_state() -> None:
    owner = contact(state="  ")
    assert (owner.state, owner.state_code, owner.state_text) == (None, None, None)
