"""A seeded generator of synthetic youth identities, for testing record matching.

Names are drawn from short lists written for this file (English, Spanish and other origins) and
combined at random; dates of birth are for ages 10 to 24. No real personal data. Beside the base
records it makes:

- variants: the same person as another agency might enter them (typos, a nickname, accents dropped
  or added, a double family name hyphenated, spaced or cut to one part, given and family names
  swapped, day and month swapped, one digit of the date wrong, a second given name left out),
  sometimes two of these at once;
- look-alikes: distinct people who resemble a base record (a twin with the same family name and
  date of birth, a sibling born the same year, a namesake born years apart, a namesake born the same
  year). Some look-alikes are base records too (twins and siblings both known, common names).
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from app.records.matching import Identity

REFERENCE_DATE = date(2025, 1, 1)


def _names(text: str) -> tuple[str, ...]:
    """A name list written as one comma-separated string."""
    return tuple(name.strip() for name in text.split(","))


ENGLISH_FEMALE = _names(
    "Emily, Olivia, Emma, Ava, Sophia, Isabella, Madison, Abigail, Chloe, Hannah, Ashley, Samantha, Jessica, "
    "Jennifer, Katherine, Elizabeth, Margaret, Victoria, Rebecca, Rachel, Lauren, Megan, Brianna, Kayla, "
    "Amber, Taylor, Morgan, Natalie, Grace, Lily, Zoe, Harper, Aubrey, Paige, Destiny, Jasmine, Courtney, "
    "Allison, Caroline, Brooke, Susan, Deborah"
)
ENGLISH_MALE = _names(
    "William, James, Michael, Robert, Christopher, Matthew, Joshua, Daniel, Andrew, Anthony, Joseph, "
    "Nicholas, Jonathan, Benjamin, Samuel, Alexander, Tyler, Brandon, Ethan, Logan, Mason, Caleb, Dylan, "
    "Austin, Hunter, Connor, Jacob, Noah, Liam, Owen, Wyatt, Gavin, Trevor, Derek, Marcus, Dominic, Elijah, "
    "Isaac, Theodore, Zachary, Patrick, Richard, Edward"
)
SPANISH_FEMALE = _names(
    "María, Guadalupe, Ximena, Valentina, Camila, Sofía, Lucía, Daniela, Gabriela, Fernanda, Mariana, Paola, "
    "Andrea, Alejandra, Carolina, Natalia, Verónica, Rocío, Yesenia, Itzel, Araceli, Esperanza, Dolores, "
    "Rosario, Pilar, Beatriz, Marisol, Leticia, Yolanda, Inés, Maite, Ángela, Juana, Francisca, Consuelo, "
    "Mercedes, Concepción, Noemí, Jimena, Abril"
)
SPANISH_MALE = _names(
    "José, Juan, Luis, Carlos, Jesús, Francisco, Miguel, Alejandro, Diego, Santiago, Mateo, Sebastián, "
    "Emiliano, Andrés, Javier, Eduardo, Ricardo, Fernando, Guillermo, Ignacio, Enrique, Rafael, Manuel, "
    "Antonio, Roberto, Alberto, Óscar, Ramón, Joaquín, Héctor, Raúl, Rubén, Iván, Adrián, Julián, Marco, "
    "Ángel, Tomás, Gerardo, Rodrigo, Álvaro"
)
OTHER_FEMALE = _names(
    "Linh, Huong, Thao, Ngoc, Fatima, Aisha, Layla, Amira, Yasmin, Hodan, Ayaan, Nimco, Marie, Nadège, "
    "Rose-Merline, Wei, Mei, Jing, Xiu, Priya, Ananya, Aditi, Kavya, Oksana, Zofia, Katarzyna, Olena, "
    "Chiamaka, Adaeze, Abena, Ngozi, Ji-woo, Seo-yeon, Maricel, Rowena, Ingrid, Sølvi, Malalai, Zainab, "
    "Leilani"
)
OTHER_MALE = _names(
    "Minh, Tuan, Duc, Thanh, Omar, Yusuf, Khalid, Hassan, Abdi, Mahad, Guled, Jean-Baptiste, Pierre, "
    "Widmark, Stevenson, Hao, Jun, Bo, Arjun, Rohan, Vikram, Rahul, Dmytro, Jakub, Bogdan, Taras, Emeka, "
    "Kwame, Kofi, Chinedu, Min-jun, Do-hyun, Jericho, Rommel, Søren, Bjørn, Farid, Tariq, Kalani, Ahanu"
)
ENGLISH_FAMILY = _names(
    "Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson, Taylor, Thomas, Moore, "
    "Jackson, Martin, Thompson, White, Harris, Clark, Lewis, Robinson, Walker, Young, Allen, King, Wright, "
    "Scott, Hill, Green, Adams, Baker, Nelson, Carter, Mitchell, Roberts, Turner, Phillips, Campbell, "
    "Parker, Evans, Edwards, Collins, Stewart, Morris, Murphy, Cook, Rogers, O'Brien, McDonald, Fitzgerald, "
    "Sullivan, Kowalczyk, Henderson, Whitfield, Blackwood"
)
SPANISH_FAMILY = _names(
    "García, Rodríguez, Martínez, Hernández, López, González, Pérez, Sánchez, Ramírez, Torres, Flores, "
    "Rivera, Gómez, Díaz, Reyes, Morales, Cruz, Ortiz, Gutiérrez, Chávez, Ramos, Ruiz, Mendoza, Álvarez, "
    "Castillo, Jiménez, Moreno, Romero, Herrera, Medina, Aguilar, Vargas, Guzmán, Muñoz, Castro, Ortega, "
    "Rubio, Núñez, Salazar, Domínguez, Ibáñez, Peña, Fuentes, Carrillo, Espinoza, Velázquez, Cabrera, "
    "Sandoval, Orozco, Zúñiga, de la Cruz, del Río, de León, de los Santos"
)
OTHER_FAMILY = _names(
    "Nguyen, Tran, Pham, Hoang, Vu, Dang, Bui, Le, Haddad, Mansour, Khalil, Saleh, Nasser, Al-Amin, "
    "Abdullahi, Warsame, Hirsi, Farah, Jean-Baptiste, Pierre-Louis, Desir, Étienne, Charles, Wang, Zhang, "
    "Liu, Chen, Huang, Zhou, Patel, Shah, Singh, Reddy, Iyer, Chatterjee, Kowalski, Nowak, Shevchenko, "
    "Kovalenko, Wiśniewski, Dvořák, Okafor, Mensah, Adeyemi, Owusu, Diallo, Traoré, Santos, Bautista, Kim, "
    "Park, Choi, Jørgensen, Østergaard, Kahananui, Yazzie, Begay, Dela Cruz"
)

# Full name -> nicknames people actually go by (written here, independently of the matcher's data).
NICKNAMES: dict[str, tuple[str, ...]] = {
    "william": ("Bill", "Will", "Billy", "Liam"),
    "robert": ("Bob", "Rob", "Bobby"),
    "katherine": ("Kate", "Katie", "Kathy", "Kat"),
    "elizabeth": ("Liz", "Beth", "Lizzie", "Betsy"),
    "margaret": ("Maggie", "Peggy", "Meg"),
    "michael": ("Mike", "Mikey"),
    "christopher": ("Chris", "Topher"),
    "jennifer": ("Jen", "Jenny"),
    "jessica": ("Jess", "Jessie"),
    "samantha": ("Sam", "Sammy"),
    "alexander": ("Alex", "Xander", "Sasha"),
    "nicholas": ("Nick", "Nicky"),
    "jonathan": ("Jon", "Johnny"),
    "benjamin": ("Ben", "Benny"),
    "samuel": ("Sam",),
    "matthew": ("Matt",),
    "joseph": ("Joe", "Joey"),
    "daniel": ("Dan", "Danny"),
    "anthony": ("Tony",),
    "abigail": ("Abby",),
    "victoria": ("Vicky", "Tori"),
    "rebecca": ("Becky", "Becca"),
    "theodore": ("Ted", "Theo"),
    "zachary": ("Zach", "Zack"),
    "patrick": ("Pat",),
    "richard": ("Rick", "Dick"),
    "edward": ("Ed", "Eddie", "Ted"),
    "joshua": ("Josh",),
    "andrew": ("Andy", "Drew"),
    "susan": ("Sue", "Susie"),
    "deborah": ("Deb", "Debbie"),
    "natalie": ("Nat",),
    "jose": ("Pepe",),
    "francisco": ("Paco", "Pancho"),
    "guadalupe": ("Lupe", "Lupita"),
    "jesus": ("Chuy",),
    "guillermo": ("Memo",),
    "eduardo": ("Lalo",),
    "ignacio": ("Nacho",),
    "enrique": ("Quique",),
    "alejandro": ("Alex",),
    "dolores": ("Lola",),
    "rosario": ("Charo",),
    "roberto": ("Beto",),
    "alberto": ("Beto",),
    "concepcion": ("Concha",),
    "manuel": ("Manolo",),
    "rafael": ("Rafa",),
    "santiago": ("Santi",),
    "francisca": ("Paquita",),
    "pilar": ("Pili",),
    "mercedes": ("Meche",),
    "consuelo": ("Chelo",),
}

# Neighbouring keys on a QWERTY keyboard, for realistic substitutions.
_KEYBOARD = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij", "i": "uok", "o": "ipl",
    "p": "ol", "a": "qsz", "s": "adwx", "d": "sfec", "f": "dgrv", "g": "fhtb", "h": "gjyn", "j": "hkun",
    "k": "jlim", "l": "kop", "z": "asx", "x": "zsc", "c": "xdv", "v": "cfb", "b": "vgn", "n": "bhm", "m": "nj",
}  # fmt: skip

VARIANT_KINDS = (
    "typo-substitution",
    "typo-transposition",
    "typo-deletion",
    "nickname",
    "accents-dropped",
    "accents-added",
    "family-hyphenated",
    "family-spaced",
    "family-one-part",
    "names-swapped",
    "day-month-swapped",
    "date-digit",
    "second-given-missing",
)
LOOKALIKE_KINDS = ("twin", "sibling-same-year", "namesake-years-apart", "namesake-same-year")


@dataclass(frozen=True)
class Person:
    """A base record: an id and the identity entered by the first agency."""

    record_id: str
    identity: Identity
    origin: str
    sex: str


@dataclass(frozen=True)
class Variant:
    """The same person as `record_id`, entered differently."""

    record_id: str
    kinds: tuple[str, ...]
    identity: Identity


@dataclass(frozen=True)
class Lookalike:
    """A different person who resembles record `resembles` (not itself among the base records)."""

    resembles: str
    kind: str
    identity: Identity


@dataclass
class Population:
    """Base records, variants of some of them, and look-alike strangers."""

    people: list[Person] = field(default_factory=list)
    variants: list[Variant] = field(default_factory=list)
    lookalikes: list[Lookalike] = field(default_factory=list)
    groups: dict[str, str] = field(default_factory=dict)  # record id -> look-alike group among the base


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


_ACCENTED = {
    _fold(n).lower(): n for lst in (SPANISH_FEMALE, SPANISH_MALE, SPANISH_FAMILY) for n in lst if _fold(n) != n
}
_SINGLE_FAMILY_NAMES = {
    _fold(n).lower() for n in (*ENGLISH_FAMILY, *SPANISH_FAMILY, *OTHER_FAMILY) if " " not in n and "-" not in n
}
COMMON_NAMES = (
    ("María", "García", "F"),
    ("José", "Hernández", "M"),
    ("Jessica", "Smith", "F"),
    ("Michael", "Johnson", "M"),
    ("Linh", "Nguyen", "F"),
    ("Juan", "Martínez", "M"),
    ("Ashley", "Williams", "F"),
    ("Luis", "López", "M"),
)


class _Generator:
    def __init__(self, seed: int, reference: date) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (synthetic data, not security)
        self.reference = reference

    def birth_date(self) -> date:
        oldest = self.reference.replace(year=self.reference.year - 25) + timedelta(days=1)
        youngest = self.reference.replace(year=self.reference.year - 10)
        return oldest + timedelta(days=self.rng.randrange((youngest - oldest).days + 1))

    def origin(self) -> str:
        return self.rng.choices(("english", "spanish", "other"), weights=(0.35, 0.35, 0.3))[0]

    def given_name(self, origin: str, sex: str, avoid: set[str] | None = None) -> str:
        lists = {
            ("english", "F"): ENGLISH_FEMALE,
            ("english", "M"): ENGLISH_MALE,
            ("spanish", "F"): SPANISH_FEMALE,
            ("spanish", "M"): SPANISH_MALE,
            ("other", "F"): OTHER_FEMALE,
            ("other", "M"): OTHER_MALE,
        }
        names = lists[(origin, sex)]
        while True:
            first = self.rng.choice(names)
            name = first
            if origin in ("spanish", "english") and self.rng.random() < 0.25:
                second = self.rng.choice(lists[(origin, sex)])
                if second != first:
                    name = f"{first} {second}"
            if not avoid or _fold(name.split()[0]).lower() not in avoid:
                return name

    def family_name(self, origin: str) -> str:
        if origin == "english":
            return self.rng.choice(ENGLISH_FAMILY)
        if origin == "other":
            return self.rng.choice(OTHER_FAMILY)
        first = self.rng.choice(SPANISH_FAMILY)
        if self.rng.random() < 0.6:
            second = self.rng.choice(SPANISH_FAMILY)
            if second != first:
                return f"{first}{self.rng.choice((' ', ' ', '-'))}{second}"
        return first

    # Variants -----------------------------------------------------------------------------------------

    def typo(self, person: Identity, kind: str) -> Identity | None:
        target = self.rng.choice(("given", "family"))
        name = person.given_name if target == "given" else person.family_name
        letters = [i for i, c in enumerate(name) if c.isalpha()]
        if len(letters) < 4:
            return None
        chars = list(name)
        if kind == "typo-substitution":
            i = self.rng.choice(letters)
            folded = _fold(chars[i]).lower()
            chars[i] = self.rng.choice(_KEYBOARD.get(folded, "aeiou"))
        elif kind == "typo-transposition":
            pairs = [i for i in letters[:-1] if i + 1 in letters and chars[i].lower() != chars[i + 1].lower()]
            if not pairs:
                return None
            i = self.rng.choice(pairs)
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        else:
            del chars[self.rng.choice(letters)]
        changed = "".join(chars)
        if target == "given":
            return replace(person, given_name=changed)
        return replace(person, family_name=changed)

    def mutate(self, person: Identity, kind: str) -> Identity | None:
        given, family, dob = person.given_name, person.family_name, person.birth_date
        if kind.startswith("typo-"):
            return self.typo(person, kind)
        if kind == "nickname":
            first = given.split()[0]
            options = NICKNAMES.get(_fold(first).lower())
            return replace(person, given_name=self.rng.choice(options)) if options else None
        if kind == "accents-dropped":
            plain = replace(person, given_name=_fold(given), family_name=_fold(family))
            return plain if plain != person else None
        if kind == "accents-added":
            words = (
                [_ACCENTED.get(w.lower(), w) for w in given.split()],
                [_ACCENTED.get(w.lower(), w) for w in family.split()],
            )
            added = replace(person, given_name=" ".join(words[0]), family_name=" ".join(words[1]))
            return added if added != person else None
        if kind in ("family-hyphenated", "family-spaced", "family-one-part"):
            parts = family.replace("-", " ").split()
            if len(parts) != 2 or not all(_fold(p).lower() in _SINGLE_FAMILY_NAMES for p in parts):
                return None  # not two family names (de la Cruz, Al-Amin, Jean-Baptiste)
            if kind == "family-hyphenated":
                new = "-".join(parts)
            elif kind == "family-spaced":
                new = " ".join(parts)
            else:
                new = self.rng.choice(parts)
            return replace(person, family_name=new) if new != family else None
        if kind == "names-swapped":
            return replace(person, given_name=family, family_name=given)
        if kind == "day-month-swapped":
            if dob.day > 12 or dob.day == dob.month:
                return None
            return replace(person, birth_date=date(dob.year, dob.day, dob.month))
        if kind == "date-digit":
            text = list(dob.isoformat())
            for _ in range(20):
                i = self.rng.choice((3, 6, 8, 9))
                candidate = text.copy()
                candidate[i] = str((int(text[i]) + self.rng.choice((-1, 1))) % 10)
                try:
                    moved = date.fromisoformat("".join(candidate))
                except ValueError:
                    continue
                if moved != dob:
                    return replace(person, birth_date=moved)
            return None
        if kind == "second-given-missing":
            parts = given.split()
            if len(parts) < 2 or parts[0].lower() in ("de", "del", "la", "dela", "al"):
                return None
            return replace(person, given_name=parts[0])
        raise ValueError(kind)

    def variant(self, person: Person) -> Variant | None:
        """One variant of a person: one change (85%) or two, each drawn among the changes that apply."""
        count = 2 if self.rng.random() < 0.15 else 1
        identity = person.identity
        kinds: list[str] = []
        while len(kinds) < count:
            options = {k: self.mutate(identity, k) for k in VARIANT_KINDS if k not in kinds}
            applicable = [k for k, changed in options.items() if changed is not None and changed != identity]
            if not applicable:
                break
            kind = self.rng.choice(applicable)
            kinds.append(kind)
            identity = options[kind] or identity
        return Variant(person.record_id, tuple(kinds), identity) if kinds else None

    # Look-alikes --------------------------------------------------------------------------------------

    def lookalike(self, person: Person, kind: str, avoid: set[str] | None = None) -> Identity:
        ident = person.identity
        avoid = (avoid or set()) | {_fold(ident.given_name.split()[0]).lower()}
        if kind == "twin":
            sex = self.rng.choice("FM")
            return replace(ident, given_name=self.given_name(person.origin, sex, avoid=avoid))
        if kind == "sibling-same-year":
            while True:
                dob = self.birth_date()
                if dob.month == 2 and dob.day == 29:
                    continue
                dob = dob.replace(year=ident.birth_date.year)
                if abs((dob - ident.birth_date).days) > 40:
                    break
            sex = self.rng.choice("FM")
            return Identity(self.given_name(person.origin, sex, avoid=avoid), ident.family_name, dob)
        if kind == "namesake-years-apart":
            while True:
                dob = self.birth_date()
                if abs(dob.year - ident.birth_date.year) >= 3:
                    return replace(ident, birth_date=dob)
        # namesake-same-year: same names, another date in the same year
        while True:
            dob = self.birth_date()
            if dob.month == 2 and dob.day == 29:
                continue
            dob = dob.replace(year=ident.birth_date.year)
            if abs((dob - ident.birth_date).days) > 40:
                return replace(ident, birth_date=dob)


def generate(
    seed: int = 20250101,
    size: int = 1200,
    variant_share: float = 0.5,
    lookalike_share: float = 0.15,
    reference: date = REFERENCE_DATE,
) -> Population:
    """A reproducible population: `size` base records, variants of a share of them, and look-alikes."""
    gen = _Generator(seed, reference)
    rng = gen.rng
    population = Population()

    def add(identity: Identity, origin: str, sex: str, group: str | None = None) -> Person:
        person = Person(f"r{len(population.people) + 1:05d}", identity, origin, sex)
        population.people.append(person)
        if group:
            population.groups[person.record_id] = group
        return person

    # Common names, each carried by several different people.
    for n, (given, family, sex) in enumerate(COMMON_NAMES):
        origin = "english" if family in ("Smith", "Johnson", "Williams") else "spanish"
        for _ in range(4):
            add(Identity(given, family, gen.birth_date()), origin, sex, group=f"common-{n}")
    while len(population.people) < size:
        origin, sex = gen.origin(), rng.choice("FM")
        given, family = gen.given_name(origin, sex), gen.family_name(origin)
        if rng.random() < 0.3:  # entered without accents
            given, family = _fold(given), _fold(family)
        person = add(Identity(given, family, gen.birth_date()), origin, sex)
        roll = rng.random()
        if roll < 0.05 and len(population.people) < size:  # twins, both known
            population.groups[person.record_id] = f"twins-{person.record_id}"
            add(gen.lookalike(person, "twin"), origin, rng.choice("FM"), group=f"twins-{person.record_id}")
        elif roll < 0.10 and len(population.people) < size:  # siblings born the same year, both known
            population.groups[person.record_id] = f"siblings-{person.record_id}"
            add(gen.lookalike(person, "sibling-same-year"), origin, sex, group=f"siblings-{person.record_id}")

    given_by_family: dict[str, set[str]] = {}
    for person in population.people:
        first = _fold(person.identity.given_name.split()[0]).lower()
        given_by_family.setdefault(_fold(person.identity.family_name).lower(), set()).add(first)
    for person in population.people:
        if rng.random() < variant_share:
            variant = gen.variant(person)
            if variant is not None:
                population.variants.append(variant)
        if rng.random() < lookalike_share:
            kind = rng.choice(LOOKALIKE_KINDS)
            relatives = given_by_family[_fold(person.identity.family_name).lower()]
            population.lookalikes.append(Lookalike(person.record_id, kind, gen.lookalike(person, kind, relatives)))
    return population
