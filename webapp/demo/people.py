"""Who lives in a household: composition, ages, names, phones and resident ID numbers.

Households are drawn by kind (an elderly couple, a young family, three generations …) so ages
within a household fit together, and the share of kinds sets the age pyramid.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from webapp.demo import names


class Weighted:
    """Weighted choice with the cumulative weights computed once (random.choices redoes them on
    every call, which shows at a million residents)."""

    def __init__(self, pairs: list[tuple[Any, float]]):
        self.values = [value for value, _ in pairs]
        self.cumulative: list[float] = []
        total = 0.0
        for _, weight in pairs:
            total += weight
            self.cumulative.append(total)
        self.total = total

    def __call__(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


SURNAME = Weighted(names.SURNAMES)
# Kinds of household an owner's flat holds, and a rented-out flat's tenants.
OWNER_KIND = Weighted(
    [
        ("elderly_single", 8),
        ("young_single", 7),
        ("elderly_couple", 12),
        ("middle_couple", 14),
        ("nuclear", 33),
        ("three_gen", 12),
        ("skip_gen", 3),
        ("elder_with_child", 6),
        ("shared", 2),
    ]
)
TENANT_KIND = Weighted(
    [("young_single", 40), ("shared", 25), ("middle_couple", 15), ("nuclear", 20)]
)

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"


def id_check_digit(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a resident ID number (GB 11643)."""
    total = sum(int(c) * w for c, w in zip(body17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def era(birth_year: int) -> str:
    if birth_year < 1960:
        return "before_1960"
    if birth_year < 1990:
        return "1960_1989"
    if birth_year < 2005:
        return "1990_2004"
    return "2005_on"


def elderly_age(rng: random.Random, lo: int, hi: int, scale: float = 11.0) -> int:
    """An age in [lo, hi] thinning out with age, as mortality does (truncated exponential)."""
    span = 1.0 - math.exp(-(hi - lo) / scale)
    return min(hi, int(lo - scale * math.log(1.0 - rng.random() * span)))


@dataclass
class Member:
    """One person of a household before it has a name: relation to the head (户主, 配偶, 子女,
    父母, 孙子女, 其他), gender "M"/"F", age in whole years, and the surname it will carry."""

    relation: str
    gender: str
    age: int
    surname: str


def given_name(rng: random.Random, gender: str, birth_year: int) -> str:
    if rng.random() < 0.7:
        return rng.choice(names.GIVEN_NAMES_BY_ERA[era(birth_year)][gender])
    first, second = names.GIVEN_NAME_CHARS[gender]
    if rng.random() < 0.2:
        return rng.choice(second)
    return rng.choice(first) + rng.choice(second)


def person_name(rng: random.Random, gender: str, birth_year: int, surname: str = "") -> str:
    return (surname or SURNAME(rng)) + given_name(rng, gender, birth_year)


def mobile(rng: random.Random) -> str:
    return rng.choice(names.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def birth_date(rng: random.Random, age: int, today: date) -> date:
    """A birthday that makes the person exactly `age` on `today`."""
    anniversary = date(today.year - age, today.month, min(today.day, 28))
    return anniversary - timedelta(days=rng.randrange(365))


class IdNumbers:
    """Issues syntactically valid resident ID numbers (居民身份证号), never the same one twice."""

    def __init__(self) -> None:
        self.used: set[int] = set()

    def issue(self, rng: random.Random, born: date, gender: str, local: bool) -> str:
        area = rng.choice(names.LOCAL_AREA_CODES if local else names.ELSEWHERE_AREA_CODES)
        parity = 1 if gender == "M" else 0  # odd sequence for men, even for women
        prefix = f"{area}{born:%Y%m%d}"
        while True:
            body = f"{prefix}{rng.randrange(500) * 2 + parity:03d}"
            key = int(body)
            if key not in self.used:
                self.used.add(key)
                return body + id_check_digit(body)


def compose_household(rng: random.Random, kind: str) -> list[Member]:
    """Members of one household, head first, with ages relative to each other."""

    def couple(husband_age: int, head_is_husband: bool) -> list[Member]:
        wife_age = max(20, husband_age + rng.randint(-6, 2))
        husband = Member("", "M", husband_age, SURNAME(rng))
        wife = Member("", "F", wife_age, SURNAME(rng))
        head, spouse = (husband, wife) if head_is_husband else (wife, husband)
        head.relation, spouse.relation = "户主", "配偶"
        return [head, spouse]

    def child(parents: list[Member], relation: str, lo: int, hi: int) -> Member:
        father = next((p for p in parents if p.gender == "M"), None)
        surname = father.surname if father else SURNAME(rng)
        return Member(relation, rng.choice("MF"), rng.randint(lo, max(lo, hi)), surname)

    if kind == "elderly_single":
        return [
            Member(
                "户主",
                "F" if rng.random() < 0.65 else "M",
                elderly_age(rng, 62, 99, 16.0),
                SURNAME(rng),
            )
        ]
    if kind == "young_single":
        return [
            Member("户主", "M" if rng.random() < 0.55 else "F", rng.randint(21, 45), SURNAME(rng))
        ]
    if kind == "elderly_couple":
        members = couple(elderly_age(rng, 61, 97, 14.0), rng.random() < 0.75)
        for m in members:
            m.age = max(m.age, 58)
        return members
    if kind == "middle_couple":
        age = rng.randint(25, 34) if rng.random() < 0.4 else rng.randint(45, 61)
        return couple(age, rng.random() < 0.7)
    if kind == "nuclear":
        members = couple(rng.randint(27, 56), rng.random() < 0.75)
        mother_age = min(m.age for m in members)
        for _ in range(1 if rng.random() < 0.7 else 2):
            members.append(child(members, "子女", 0, min(mother_age - 22, 30)))
        return members
    if kind == "three_gen":
        members = couple(rng.randint(30, 50), rng.random() < 0.8)
        head = members[0]
        mother_age = min(m.age for m in members)
        members.append(child(members, "子女", 0, min(mother_age - 22, 26)))
        parent_age = min(100, head.age + rng.randint(26, 38))
        father = Member("父母", "M", parent_age, head.surname)
        mother = Member("父母", "F", max(55, parent_age + rng.randint(-5, 1)), SURNAME(rng))
        if rng.random() < 0.45:
            members += [father, mother]
        else:
            members.append(mother if rng.random() < 0.65 else father)
        return members
    if kind == "skip_gen":
        if rng.random() < 0.55:
            members = couple(elderly_age(rng, 56, 84), rng.random() < 0.7)
        else:
            members = [Member("户主", rng.choice("MF"), elderly_age(rng, 56, 84), SURNAME(rng))]
        grandfather = next((m for m in members if m.gender == "M"), None)
        for _ in range(1 if rng.random() < 0.75 else 2):
            surname = grandfather.surname if grandfather else SURNAME(rng)
            members.append(Member("孙子女", rng.choice("MF"), rng.randint(3, 15), surname))
        return members
    if kind == "elder_with_child":
        head = Member(
            "户主",
            "F" if rng.random() < 0.6 else "M",
            elderly_age(rng, 74, 100, 14.0),
            SURNAME(rng),
        )
        kid_age = max(35, head.age - rng.randint(24, 34))
        surname = head.surname if head.gender == "M" else SURNAME(rng)
        return [head, Member("子女", rng.choice("MF"), kid_age, surname)]
    # Unrelated adults sharing a flat.
    return [
        Member("户主" if i == 0 else "其他", rng.choice("MF"), rng.randint(20, 40), SURNAME(rng))
        for i in range(rng.randint(2, 3))
    ]
