"""The reviewer roster: who may review what, and how much at once."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from schemas.base import Identifier
from schemas.enums import ReviewQueue

ANY_COUNTRY = "*"


class Reviewer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: Annotated[str, Field(min_length=3, max_length=254)]
    token: SecretStr  # for the console; only its sha256 is stored
    queues: frozenset[ReviewQueue]
    countries: frozenset[str] = frozenset({ANY_COUNTRY})
    max_open: Annotated[int, Field(ge=0, le=10_000)] = 20
    active: bool = True

    @field_validator("countries")
    @classmethod
    def _upper(cls, value: frozenset[str]) -> frozenset[str]:
        return frozenset(code.upper() if code != ANY_COUNTRY else code for code in value)

    @property
    def token_sha256(self) -> str:
        return hashlib.sha256(self.token.get_secret_value().encode()).hexdigest()

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


def load_roster(path: Path) -> Roster:
    """Read and validate a roster YAML file (a list under `reviewers:`)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Roster.model_validate(data)
