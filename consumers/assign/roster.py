"""The reviewer roster: who may review what, and how much at once."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.base import Identifier
from schemas.enums import ReviewQueue

ANY_COUNTRY = "*"


class Reviewer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: Annotated[str, Field(min_length=3, max_length=254)]
    # the sign-in token's sha256 only (`kyb reviewers token` mints a token and prints both): a
    # plaintext token in the roster would be a secret in a file, and short ones ("1") guessable
    token_sha256: Annotated[str, Field(pattern="^[0-9a-f]{64}$")]
    queues: frozenset[ReviewQueue]
    countries: frozenset[str] = frozenset({ANY_COUNTRY})
    max_open: Annotated[int, Field(ge=0, le=10_000)] = 20
    active: bool = True

    @field_validator("countries")
    @classmethod
    def _upper(cls, value: frozenset[str]) -> frozenset[str]:
        return frozenset(code.upper() if code != ANY_COUNTRY else code for code in value)

    @model_validator(mode="before")
    @classmethod
    def _no_plaintext_token(cls, data: Any) -> Any:
        if isinstance(data, dict) and "token" in data:
            raise ValueError(
                "a plaintext `token` is not accepted: put its `token_sha256` in the roster "
                "(`kyb reviewers token` mints a token and prints both)"
            )
        return data

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
