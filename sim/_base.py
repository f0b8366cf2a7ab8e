"""The base of every validated configuration object."""

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Immutable, strict, and closed to unknown keys."""

    # strict: TOML already types its values, so "1.5" must not pass for 1.5
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
