"""The base of every validated configuration object."""

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Immutable, strict, and closed to unknown keys."""

    # strict: TOML already types its values, so "1.5" must not pass for 1.5;
    # TOML also spells inf and nan, which no field of ours can use
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False
    )
