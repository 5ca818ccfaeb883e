from __future__ import annotations

import random

import pytest

from consumers.ocr.registration import validate
from producers.synthetic import random_spec


@pytest.mark.parametrize("country", ["SG", "GB", "AU", "JP", "HK", "CN"])
def test_generated_registration_numbers_pass_their_country_rules(country: str) -> None:
    rng = random.Random(country)
    invalid = [
        spec.registration_number
        for spec in (random_spec(rng, country) for _ in range(300))
        if not validate(spec.registration_number, country).valid
    ]
    assert invalid == []
