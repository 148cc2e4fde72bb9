"""Field types shared by the yard's input models, with messages a person can act on."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from vms.config import CODE_PATTERN

_CODE = re.compile(CODE_PATTERN)
_CONTAINER = re.compile(r"^[A-Z0-9-]{1,20}$")


def check_code(value: str) -> str:
    if not _CODE.match(value):
        raise ValueError(
            f"{value!r} is not a valid code: use 1-64 letters, digits, '.', '_' or '-', starting with "
            "a letter or digit (names may be Chinese, codes may not)"
        )
    return value


def normalize_container(value: str) -> str:
    value = value.upper()
    if not _CONTAINER.match(value):
        hint = "up to 20 letters, digits or '-', e.g. ABCU1234567"
        raise ValueError(f"{value!r} is not a container number ({hint})")
    return value


_Stripped = StringConstraints(strip_whitespace=True)
Code = Annotated[str, _Stripped, AfterValidator(check_code)]
ContainerNumber = Annotated[str, _Stripped, AfterValidator(normalize_container)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
RetentionDays = Annotated[int, Field(ge=1, le=36500)]
