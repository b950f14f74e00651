"""The keyring: person -> roles -> public keys, declared in the governed policy.

Identity is the key; a name is a label for people reading reports. Two entries never share a
key, and two names that differ only in case, spacing or Unicode compatibility forms are one
name, so "Priya Raman" and "priya  raman" cannot be two reviewers. Names outside the keyring,
or look-alikes written in another script, match nobody.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from .keys import public_key

CARD_REVIEWER = "card_reviewer"
COMMITTEE_MEMBER = "committee_member"
INCIDENT_HANDLER = "incident_handler"
GOVERNANCE_OWNER = "governance_owner"
GATE = "gate"  # a gate deployment: signs the decisions it records
MODEL_OWNER = "model_owner"  # named as a card's owner: never counts as its reviewer
ROLES = (CARD_REVIEWER, COMMITTEE_MEMBER, INCIDENT_HANDLER, GOVERNANCE_OWNER, GATE, MODEL_OWNER)
Role = Literal["card_reviewer", "committee_member", "incident_handler", "governance_owner", "gate",
               "model_owner"]


def name_key(name: str) -> str:
    """The form two names are compared in."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    roles: tuple[Role, ...] = Field(min_length=1)
    public_keys: tuple[str, ...] = Field(min_length=1)  # PEM; more than one while rotating
    demo: bool = False  # a published demo key: never trust it outside the demo

    @field_validator("public_keys")
    @classmethod
    def _keys_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pem in value:
            public_key(pem)
        return value

    @property
    def keyids(self) -> tuple[str, ...]:
        return tuple(public_key(pem).keyid for pem in self.public_keys)

    def has(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)


class Keyring(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    people: tuple[Person, ...] = ()
    _keyid_index: dict | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _unique(self) -> "Keyring":
        names, keyids = {}, {}
        for person in self.people:
            other = names.setdefault(name_key(person.name), person.name)
            if other is not person.name:
                raise ValueError(f"keyring lists {person.name!r} twice (as {other!r} too)")
            for keyid in person.keyids:
                owner = keyids.setdefault(keyid, person.name)
                if owner != person.name:
                    raise ValueError(f"{person.name!r} and {owner!r} share a public key: a key "
                                     "identifies one person")
        return self

    def by_keyid(self, keyid: str) -> Person | None:
        return self._index().get(keyid)

    def by_name(self, name: str) -> Person | None:
        wanted = name_key(name)
        return next((p for p in self.people if name_key(p.name) == wanted), None)

    def with_role(self, role: str) -> tuple[Person, ...]:
        return tuple(p for p in self.people if role in p.roles)

    def keys_for(self, role: str | None = None) -> list:
        return [public_key(pem) for p in self.people if role is None or role in p.roles
                for pem in p.public_keys]

    def _index(self) -> dict:
        if self._keyid_index is None:
            self._keyid_index = {keyid: person for person in self.people for keyid in person.keyids}
        return self._keyid_index
