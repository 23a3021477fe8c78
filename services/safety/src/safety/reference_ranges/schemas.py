"""Request and response models of the reference ranges API."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from doseline.http import RequestModel
from doseline.numbers import DecimalText
from safety.reference_ranges.ranges import RangeRow, Sex
from safety.reference_ranges.service import RangeInForce


class ReferenceRangeIn(RequestModel):
    """One range, as a row of the shipped adult.csv."""

    analyte: str = Field(
        max_length=40,
        description="Analyte key shared by all LOINC codes of the analyte, e.g. creatinine "
        "(see `python -m safety loinc-coverage`)",
    )
    sex: Sex = Field(default=Sex.ANY, description="any, female or male")
    age_min: int | None = Field(default=None, description="Years, inclusive; null = open")
    age_max: int | None = Field(default=None, description="Years, exclusive; null = open")
    low: Decimal | None = Field(default=None, max_digits=18, description="Lower limit of normal")
    high: Decimal | None = Field(default=None, max_digits=18, description="Upper limit of normal")
    unit: str = Field(max_length=40, description="UCUM unit of low and high, e.g. umol/L")
    source: str = Field(
        default="site laboratory",
        min_length=1,
        max_length=200,
        description="Where the numbers come from (the laboratory's report or manual)",
    )

    def as_row(self) -> RangeRow:
        return RangeRow(
            analyte=self.analyte,
            sex=self.sex,
            age_min=self.age_min,
            age_max=self.age_max,
            low=self.low,
            high=self.high,
            unit=self.unit,
            source=self.source,
        )


class SiteReferenceRangesIn(RequestModel):
    ranges: list[ReferenceRangeIn] = Field(
        max_length=500, description="The site's complete set; analytes left out use defaults"
    )
    reason: str | None = Field(default=None, max_length=2000, description="Reason for change")


class ReferenceRangeOut(BaseModel):
    analyte: str
    sex: Sex
    age_min: int | None
    age_max: int | None
    low: DecimalText | None
    high: DecimalText | None
    unit: str
    source: str
    origin: str = Field(description="site <id> override, or shipped adult default (<source>)")

    @classmethod
    def of(cls, entry: RangeInForce) -> ReferenceRangeOut:
        row = entry.row
        return cls(
            analyte=row.analyte,
            sex=row.sex,
            age_min=row.age_min,
            age_max=row.age_max,
            low=row.low,
            high=row.high,
            unit=row.unit,
            source=row.source,
            origin=entry.origin,
        )


class ReferenceRangesOut(BaseModel):
    trial_id: str
    site_id: str | None
    ranges: list[ReferenceRangeOut] = Field(
        description="The site's overrides first, then the shipped defaults of other analytes"
    )
