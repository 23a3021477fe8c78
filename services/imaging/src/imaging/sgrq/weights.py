"""SGRQ and SGRQ-C item weights and missing-item limits, as published in the scoring manuals.

Sources: SGRQ manual v2.3 (June 2009) and SGRQ-C manual v1.1 (December 2008), St George's,
University of London; transcribed in docs/reference/OUTCOMES.md §1.3 and §1.5. Item text is
licensed and deliberately absent: an item is known here only by its number as printed on the form.

Response codes: a single-choice item is answered with the ordinal position of the option as printed
on the form (1 = first option); a yes/no item or a true/false statement is answered with a bool
(True = "yes" / "true"). For SGRQ Q17 and SGRQ-C Q14 the first option is the mildest one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Final


class Instrument(Enum):
    """Which questionnaire the responses come from."""

    SGRQ = "SGRQ"
    SGRQ_C = "SGRQ-C"


class Component(Enum):
    """The three SGRQ components; the Total spans all of them."""

    SYMPTOMS = "symptoms"
    ACTIVITY = "activity"
    IMPACTS = "impacts"


Response = int | bool
"""An answer: the printed option position for single-choice items, a bool for yes/no, true/false."""


@dataclass(frozen=True)
class ItemWeights:
    """One questionnaire item: its number on the form, its component and each answer's weight."""

    item: str
    component: Component
    weights: Mapping[Response, float]

    @property
    def is_true_false(self) -> bool:
        """True when the item is answered yes/no or true/false rather than by option position."""
        return all(isinstance(response, bool) for response in self.weights)

    @property
    def maximum_weight(self) -> float:
        return max(self.weights.values())


def _choice(item: str, component: Component, weights: dict[int, float]) -> ItemWeights:
    return ItemWeights(item, component, MappingProxyType(dict(weights)))


def _true_false(item: str, component: Component, weight_if_true: float) -> ItemWeights:
    return ItemWeights(item, component, MappingProxyType({True: weight_if_true, False: 0.0}))


_S = Component.SYMPTOMS
_A = Component.ACTIVITY
_I = Component.IMPACTS

# SGRQ manual v2.3 (OUTCOMES.md §1.3). Q6 option 5 is "no attacks" (scored 0); the form skips Q6
# when Q5 is "none", see scoring.py. Q5 option 4 = 44.2 and Q13h = 84.5: the values that reproduce
# the manual's Symptoms and Impacts maxima (662.5, 2117.8); OUTCOMES.md §1.3 asks for confirmation
# against the licensed manual before production use.
SGRQ_ITEMS: Final[tuple[ItemWeights, ...]] = (
    _choice("1", _S, {1: 80.6, 2: 63.2, 3: 29.3, 4: 28.1, 5: 0.0}),
    _choice("2", _S, {1: 76.8, 2: 60.0, 3: 34.0, 4: 30.2, 5: 0.0}),
    _choice("3", _S, {1: 87.2, 2: 71.4, 3: 43.7, 4: 35.7, 5: 0.0}),
    _choice("4", _S, {1: 86.2, 2: 71.0, 3: 45.6, 4: 36.4, 5: 0.0}),
    _choice("5", _S, {1: 86.7, 2: 73.5, 3: 60.3, 4: 44.2, 5: 0.0}),
    _choice("6", _S, {1: 89.7, 2: 73.5, 3: 58.8, 4: 41.9, 5: 0.0}),
    _choice("7", _S, {1: 93.3, 2: 76.6, 3: 61.5, 4: 15.4, 5: 0.0}),
    _true_false("8", _S, 62.0),
    _choice("9", _I, {1: 83.2, 2: 82.5, 3: 34.6, 4: 0.0}),
    _choice("10", _I, {1: 88.9, 2: 77.6, 3: 0.0}),
    _true_false("11a", _A, 90.6),
    _true_false("11b", _A, 82.8),
    _true_false("11c", _A, 80.2),
    _true_false("11d", _A, 81.4),
    _true_false("11e", _A, 76.1),
    _true_false("11f", _A, 75.1),
    _true_false("11g", _A, 72.1),
    _true_false("12a", _I, 81.1),
    _true_false("12b", _I, 79.1),
    _true_false("12c", _I, 84.5),
    _true_false("12d", _I, 76.8),
    _true_false("12e", _I, 87.9),
    _true_false("12f", _I, 84.0),
    _true_false("13a", _I, 74.1),
    _true_false("13b", _I, 79.1),
    _true_false("13c", _I, 87.7),
    _true_false("13d", _I, 90.1),
    _true_false("13e", _I, 82.3),
    _true_false("13f", _I, 89.9),
    _true_false("13g", _I, 75.7),
    _true_false("13h", _I, 84.5),
    _true_false("14a", _I, 88.2),
    _true_false("14b", _I, 53.9),
    _true_false("14c", _I, 81.1),
    _true_false("14d", _I, 70.3),
    _true_false("15a", _A, 74.2),
    _true_false("15b", _A, 81.0),
    _true_false("15c", _A, 71.7),
    _true_false("15d", _A, 70.6),
    _true_false("15e", _A, 71.6),
    _true_false("15f", _A, 72.3),
    _true_false("15g", _A, 74.5),
    _true_false("15h", _A, 71.4),
    _true_false("15i", _A, 63.5),
    _true_false("16a", _I, 64.8),
    _true_false("16b", _I, 79.8),
    _true_false("16c", _I, 81.0),
    _true_false("16d", _I, 79.1),
    _true_false("16e", _I, 94.0),
    _choice("17", _I, {1: 0.0, 2: 42.0, 3: 84.2, 4: 96.7}),
)

# SGRQ-C manual v1.1 (OUTCOMES.md §1.5; Meguro et al., Chest 2007;132:456-463).
SGRQ_C_ITEMS: Final[tuple[ItemWeights, ...]] = (
    _choice("1", _S, {1: 80.6, 2: 46.3, 3: 28.1, 4: 0.0}),
    _choice("2", _S, {1: 76.8, 2: 47.0, 3: 30.2, 4: 0.0}),
    _choice("3", _S, {1: 87.2, 2: 50.3, 3: 0.0}),
    _choice("4", _S, {1: 86.2, 2: 71.0, 3: 45.6, 4: 36.4, 5: 0.0}),
    _choice("5", _S, {1: 80.1, 2: 52.3, 3: 0.0}),
    _choice("6", _S, {1: 93.3, 2: 76.6, 3: 38.5, 4: 0.0}),
    _true_false("7", _S, 62.0),
    _choice("8", _I, {1: 82.9, 2: 34.6, 3: 0.0}),
    _true_false("9a", _A, 82.8),
    _true_false("9b", _A, 80.2),
    _true_false("9c", _A, 81.4),
    _true_false("9d", _A, 76.1),
    _true_false("9e", _A, 75.1),
    _true_false("10a", _I, 81.1),
    _true_false("10b", _I, 79.1),
    _true_false("10c", _I, 84.5),
    _true_false("10d", _I, 76.8),
    _true_false("10e", _I, 87.9),
    _true_false("10f", _I, 84.0),
    _true_false("11a", _I, 74.1),
    _true_false("11b", _I, 79.1),
    _true_false("11c", _I, 87.7),
    _true_false("11d", _I, 90.1),
    _true_false("11e", _I, 89.9),
    _true_false("11f", _I, 75.7),
    _true_false("11g", _I, 84.5),
    _true_false("12a", _A, 74.2),
    _true_false("12b", _A, 81.0),
    _true_false("12c", _A, 71.7),
    _true_false("12d", _A, 70.6),
    _true_false("12e", _A, 71.6),
    _true_false("12f", _A, 72.3),
    _true_false("12g", _A, 74.5),
    _true_false("12h", _A, 71.4),
    _true_false("13a", _I, 64.8),
    _true_false("13b", _I, 79.8),
    _true_false("13c", _I, 81.0),
    _true_false("13d", _I, 79.1),
    _true_false("13e", _I, 94.0),
    _choice("14", _I, {1: 0.0, 2: 42.0, 3: 84.2, 4: 96.7}),
)

ITEMS: Final[Mapping[Instrument, tuple[ItemWeights, ...]]] = MappingProxyType(
    {Instrument.SGRQ: SGRQ_ITEMS, Instrument.SGRQ_C: SGRQ_C_ITEMS}
)

# A component score is invalid when MORE than this many of its items are missing.
# SGRQ: manual v2.3 (OUTCOMES.md §1.4). SGRQ-C: the limits used by CPHCRD/sgrq, not confirmed
# against the SGRQ-C manual v1.1 (OUTCOMES.md §1.5).
MAX_MISSING_ITEMS: Final[Mapping[Instrument, Mapping[Component, int]]] = MappingProxyType(
    {
        Instrument.SGRQ: MappingProxyType(
            {Component.SYMPTOMS: 2, Component.ACTIVITY: 4, Component.IMPACTS: 6}
        ),
        Instrument.SGRQ_C: MappingProxyType(
            {Component.SYMPTOMS: 1, Component.ACTIVITY: 3, Component.IMPACTS: 5}
        ),
    }
)
