"""The reviewer roster: who may review what, and how much at once."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from schemas.base import Identifier
from schemas.enums import ReviewQueue

ANY_COUNTRY = "*"


class Reviewer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: Annotated[str, Field(min_length=3, max_length=254)]
    # the console sign-in: the token itself, or better only its sha256 (`kyb reviewers token`),
    # so the roster file holds no secret; Redis only ever stores the sha256
    token: SecretStr | None = None
    token_hash: Annotated[str | None, Field(alias="token_sha256", pattern="^[0-9a-f]{64}$")] = None
    queues: frozenset[ReviewQueue]
    countries: frozenset[str] = frozenset({ANY_COUNTRY})
    max_open: Annotated[int, Field(ge=0, le=10_000)] = 20
    active: bool = True

    @field_validator("countries")
    @classmethod
    def _upper(cls, value: frozenset[str]) -> frozenset[str]:
        return frozenset(code.upper() if code != ANY_COUNTRY else code for code in value)

    @model_validator(mode="after")
    def _one_token(self) -> Reviewer:
        if (self.token is None) == (self.token_hash is None):
            raise ValueError("give exactly one of token or token_sha256")
        return self

    @property
    def token_sha256(self) -> str:
        if self.token_hash is not None:
            return self.token_hash
        assert self.token is not None  # checked by _one_token
        return hash_token(self.token.get_secret_value())

    def may_review(self, queue: ReviewQueue, country: str) -> bool:
        countries = self.countries
        return (
            self.active
            and queue in self.queues
            and (ANY_COUNTRY in countries or country.upper() in countries)
        )


class Roster(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reviewers: tuple[Reviewer, ...]

    @field_validator("reviewers")
    @classmethod
    def _unique(cls, value: tuple[Reviewer, ...]) -> tuple[Reviewer, ...]:
        ids = [reviewer.id for reviewer in value]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"reviewer ids listed twice: {', '.join(duplicates)}")
        return value


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh console token and the sha256 to put in the roster."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def load_roster(path: Path) -> Roster:
    """Read and validate a roster YAML file (a list under `reviewers:`)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Roster.model_validate(data)
