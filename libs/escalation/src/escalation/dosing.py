"""Weight-based dose: per-kg dose x body weight, rounded as the protocol says, in exact decimals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, InvalidOperation

# Body weights above this are taken as entry or unit errors (kg), never as a real patient.
MAX_WEIGHT_KG = Decimal(350)

# Exact products: a product has at most as many digits as its two factors together, and inputs
# with more than 100 digits are refused rather than rounded silently.
_EXACT = Context(prec=200, traps=[Inexact, InvalidOperation])
_ROUNDING = Context(prec=200, rounding=ROUND_HALF_UP, traps=[InvalidOperation])
_MAX_DIGITS = 100


class InvalidWeightError(ValueError):
    """A body weight that cannot be a patient's weight in kilograms."""


@dataclass(frozen=True)
class DoseRounding:
    """Protocol rounding: exactly one of significant figures or decimal places, half up.

    HDMSC-RP-01 default (PROTOCOL.md): 3 significant figures.
    """

    significant_figures: int | None = 3
    decimal_places: int | None = None

    def __post_init__(self) -> None:
        if (self.significant_figures is None) == (self.decimal_places is None):
            raise ValueError(
                "set exactly one of significant_figures and decimal_places (to round to decimal"
                " places, pass significant_figures=None)"
            )
        if self.significant_figures is not None and (
            isinstance(self.significant_figures, bool)
            or not isinstance(self.significant_figures, int)
            or not 1 <= self.significant_figures <= _MAX_DIGITS
        ):
            raise ValueError(
                f"significant_figures must be a whole number from 1 to {_MAX_DIGITS},"
                f" not {self.significant_figures!r}"
            )
        if self.decimal_places is not None and (
            isinstance(self.decimal_places, bool)
            or not isinstance(self.decimal_places, int)
            or not 0 <= self.decimal_places <= _MAX_DIGITS
        ):
            raise ValueError(
                f"decimal_places must be a whole number from 0 to {_MAX_DIGITS},"
                f" not {self.decimal_places!r}"
            )

    def apply(self, value: Decimal) -> Decimal:
        """``value`` rounded half up to the protocol's precision."""
        if self.significant_figures is not None:
            exponent = value.adjusted() - (self.significant_figures - 1)
        else:
            assert self.decimal_places is not None
            exponent = -self.decimal_places
        return value.quantize(Decimal(1).scaleb(exponent), context=_ROUNDING)


@dataclass(frozen=True)
class DoseCalculation:
    """The dose to give, the exact unrounded product, whether the cap set it, the weight used."""

    dose: Decimal
    unrounded: Decimal
    capped: bool
    weight_kg: Decimal


def weight_based_dose(
    per_kg_dose: Decimal,
    weight_kg: Decimal | str | float | int,
    *,
    rounding: DoseRounding = DoseRounding(),
    cap: Decimal | None = None,
) -> DoseCalculation:
    """Per-kg dose x weight, rounded, then limited to ``cap`` if one is given.

    The cap is applied after rounding, so rounding up can never take the dose over it; a dose
    the cap limits is exactly the cap.
    """
    per_kg = _positive_decimal("per_kg_dose", per_kg_dose)
    weight = parse_weight(weight_kg)
    unrounded = _EXACT.multiply(per_kg, weight)
    try:
        dose = rounding.apply(unrounded)
    except InvalidOperation:
        raise ValueError(f"the dose {unrounded} cannot be rounded as {rounding}") from None
    capped = False
    if cap is not None:
        limit = _positive_decimal("cap", cap)
        if dose > limit:
            dose, capped = limit, True
    return DoseCalculation(dose=dose, unrounded=unrounded, capped=capped, weight_kg=weight)


def parse_weight(weight_kg: Decimal | str | float | int) -> Decimal:
    """A body weight in kg as an exact decimal; not a number, <= 0 or > 350 kg is refused."""
    if isinstance(weight_kg, bool):
        raise InvalidWeightError(f"weight must be a number of kilograms, not {weight_kg!r}")
    if isinstance(weight_kg, Decimal):
        weight = weight_kg
    elif isinstance(weight_kg, int):
        weight = Decimal(weight_kg)
    elif isinstance(weight_kg, float):
        # The shortest repr is the number that was typed; Decimal(float) would carry binary noise.
        weight = Decimal(repr(weight_kg))
    elif isinstance(weight_kg, str):
        try:
            weight = Decimal(weight_kg.strip())
        except InvalidOperation:
            raise InvalidWeightError(f"weight {weight_kg!r} is not a number of kilograms") from None
    else:
        raise InvalidWeightError(
            f"weight must be a number of kilograms, not {type(weight_kg).__name__}"
        )
    if not weight.is_finite():
        raise InvalidWeightError(f"weight {weight_kg!r} is not a number of kilograms")
    if weight <= 0:
        raise InvalidWeightError(f"weight {weight} kg is impossible: it must be more than 0 kg")
    if weight > MAX_WEIGHT_KG:
        raise InvalidWeightError(
            f"weight {weight} kg is over {MAX_WEIGHT_KG} kg: check the value and that it is in kg"
        )
    if len(weight.as_tuple().digits) > _MAX_DIGITS:
        raise InvalidWeightError(f"weight {weight} kg has more than {_MAX_DIGITS} digits")
    return weight


def _positive_decimal(name: str, value: Decimal) -> Decimal:
    if not isinstance(value, Decimal):
        raise ValueError(f"{name} must be a Decimal (exact), not {type(value).__name__}")
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, not {value}")
    if len(value.as_tuple().digits) > _MAX_DIGITS:
        raise ValueError(f"{name} {value} has more than {_MAX_DIGITS} digits")
    return value
