"""Pulmonary function: GLI reference values, % predicted, z, LLN, severity, Hb-corrected DLCO."""

from __future__ import annotations

import itertools
import re

import pytest
from pyspiro import BOWERMAN_2022, GLI_2012, GLI_2017

from imaging.pft.assessment import (
    Haemoglobin,
    HaemoglobinUnit,
    PftMeasurements,
    assess_pft,
    haemoglobin_correction_factor,
)
from imaging.pft.reference import (
    Gli2012Ethnicity,
    PftParameter,
    PftReferenceError,
    ReferenceEquation,
    Severity,
    Sex,
    Subject,
    _centile,
    _z_score,
    compare_with_reference,
    severity,
)

MAN_60 = Subject(sex=Sex.MALE, age_years=60.0, height_cm=170.0)
WOMAN_55 = Subject(sex=Sex.FEMALE, age_years=55.0, height_cm=158.0)
GLI_GLOBAL = ReferenceEquation.GLI_GLOBAL_2022
GLI_2012_EQ = ReferenceEquation.GLI_2012
GLI_2017_EQ = ReferenceEquation.GLI_2017_TRANSFER_FACTOR


def test_man_60_years_170_cm_fev1_2_5_l_against_gli_global() -> None:
    result = compare_with_reference(PftParameter.FEV1, 2.5, MAN_60, equation=GLI_GLOBAL)
    assert result.predicted == pytest.approx(3.033, abs=5e-4)
    assert round(result.percent_predicted, 2) == 82.42
    assert round(result.z_score, 2) == -1.13
    assert result.lln == pytest.approx(2.251, abs=5e-4)
    assert result.below_lln is False
    assert result.severity is Severity.NORMAL
    assert result.unit == "L"
    assert result.implementation.startswith("pyspiro ")


@pytest.mark.parametrize(
    ("subject", "equation", "ethnicity", "parameter", "value", "m", "percent", "z", "lln"),
    [
        # OUTCOMES.md §2.3 (pyspiro 1.0.0, confirmed by hand from the CSV for GLI Global)
        (MAN_60, GLI_GLOBAL, None, PftParameter.FEV1, 2.5, 3.03312, 82.42, -1.1335, 2.2510),
        (MAN_60, GLI_GLOBAL, None, PftParameter.FVC, 3.2, 3.8513, 83.09, -1.1192, 2.8969),
        (MAN_60, GLI_GLOBAL, None, PftParameter.FEV1_FVC, 0.78, 0.78714, 99.09, -0.1078, 0.6655),
        (
            MAN_60,
            GLI_2012_EQ,
            Gli2012Ethnicity.NORTH_EAST_ASIAN,
            PftParameter.FEV1,
            2.5,
            3.13642,
            79.71,
            -2.0336,
            2.6243,
        ),
        (
            MAN_60,
            GLI_2012_EQ,
            Gli2012Ethnicity.CAUCASIAN,
            PftParameter.FEV1,
            2.5,
            3.24846,
            76.96,
            -1.5463,
            2.4505,
        ),
        (MAN_60, GLI_2017_EQ, None, PftParameter.TLCO, 6.5, 8.43975, 77.02, -1.5006, 6.3293),
        (MAN_60, GLI_2017_EQ, None, PftParameter.DLCO, 19.4, 25.20953, 76.96, -1.5049, 18.9056),
        (WOMAN_55, GLI_GLOBAL, None, PftParameter.FEV1, 2.5, 2.34226, 106.73, 0.4242, 1.7062),
        (WOMAN_55, GLI_2017_EQ, None, PftParameter.TLCO, 6.5, 6.45357, 100.72, 0.0475, 4.9946),
    ],
)
def test_reference_vectors(
    subject: Subject,
    equation: ReferenceEquation,
    ethnicity: Gli2012Ethnicity | None,
    parameter: PftParameter,
    value: float,
    m: float,
    percent: float,
    z: float,
    lln: float,
) -> None:
    result = compare_with_reference(
        parameter, value, subject, equation=equation, ethnicity=ethnicity
    )
    assert result.predicted == pytest.approx(m, abs=1e-5)
    assert round(result.percent_predicted, 2) == percent
    assert result.z_score == pytest.approx(z, abs=1e-4)
    assert result.lln == pytest.approx(lln, abs=1e-4)


def _pyspiro_all(
    parameter: PftParameter,
    value: float,
    subject: Subject,
    equation: ReferenceEquation,
    ethnicity: Gli2012Ethnicity | None,
) -> tuple[float, float, float, float]:
    sex = 1 if subject.sex is Sex.MALE else 0
    age, height = subject.age_years, subject.height_cm
    if equation is GLI_GLOBAL:
        code = {"FEV1": 1, "FVC": 2, "FEV1/FVC": 3}[parameter.value]
        values = BOWERMAN_2022().all(sex, age, height, code, value)
    elif equation is GLI_2012_EQ:
        assert ethnicity is not None
        code = {"FEV1": 1, "FVC": 2, "FEV1/FVC": 3}[parameter.value]
        values = GLI_2012().all(sex, age, height, ethnicity.value, code, value)
    else:
        code = {"TLCO": 1, "DLCO": 2}[parameter.value]
        values = GLI_2017().all(sex, age, height, code, value)
    percent, z, lln, uln = (float(v) for v in values)
    return percent, z, lln, uln


_GRID = [
    (sex, age, height)
    for sex, age, height in itertools.product(
        Sex, (18.0, 41.3, 60.0, 72.85, 89.9), (150.0, 168.5, 185.0)
    )
]


@pytest.mark.parametrize(
    ("equation", "ethnicity", "parameter", "value"),
    [
        (GLI_GLOBAL, None, PftParameter.FEV1, 2.1),
        (GLI_GLOBAL, None, PftParameter.FVC, 3.3),
        (GLI_GLOBAL, None, PftParameter.FEV1_FVC, 0.7),
        (GLI_2012_EQ, Gli2012Ethnicity.SOUTH_EAST_ASIAN, PftParameter.FEV1, 2.1),
        (GLI_2012_EQ, Gli2012Ethnicity.NORTH_EAST_ASIAN, PftParameter.FVC, 3.3),
        (GLI_2012_EQ, Gli2012Ethnicity.OTHER_OR_MIXED, PftParameter.FEV1_FVC, 0.7),
        (GLI_2017_EQ, None, PftParameter.DLCO, 17.0),
        (GLI_2017_EQ, None, PftParameter.TLCO, 5.7),
    ],
)
def test_results_agree_with_pyspiro_over_a_grid_of_subjects(
    equation: ReferenceEquation,
    ethnicity: Gli2012Ethnicity | None,
    parameter: PftParameter,
    value: float,
) -> None:
    for sex, age, height in _GRID:
        subject = Subject(sex=sex, age_years=age, height_cm=height)
        ours = compare_with_reference(
            parameter, value, subject, equation=equation, ethnicity=ethnicity
        )
        percent, z, lln, uln = _pyspiro_all(parameter, value, subject, equation, ethnicity)
        # pyspiro rounds percent to 2 decimals; ours is unrounded.
        assert ours.percent_predicted == pytest.approx(percent, abs=0.005 + 1e-9)
        assert ours.z_score == pytest.approx(z, rel=1e-12, abs=1e-12)
        assert ours.lln == pytest.approx(lln, rel=1e-12)
        assert ours.uln == pytest.approx(uln, rel=1e-12)


@pytest.mark.parametrize(
    ("z", "expected"),
    [
        (1.0, Severity.NORMAL),
        (-1.0, Severity.NORMAL),
        (-1.645, Severity.NORMAL),
        (-1.646, Severity.MILD),
        (-2.5, Severity.MILD),
        (-2.51, Severity.MODERATE),
        (-4.0, Severity.MODERATE),
        (-4.01, Severity.SEVERE),
    ],
)
def test_ats_ers_2022_severity_bands(z: float, expected: Severity) -> None:
    assert severity(z) is expected


def test_a_value_below_the_lln_is_flagged_and_graded() -> None:
    result = compare_with_reference(PftParameter.FEV1, 1.5, MAN_60, equation=GLI_GLOBAL)
    assert result.below_lln is True
    assert result.measured < result.lln
    assert result.severity is Severity.MODERATE


def test_the_lms_formulas_reach_their_l_equals_zero_limit_continuously() -> None:
    m, s = 3.0, 0.15
    assert _z_score(2.5, 1e-9, m, s) == pytest.approx(_z_score(2.5, 0.0, m, s), rel=1e-6)
    assert _centile(-1.645, 1e-9, m, s) == pytest.approx(_centile(-1.645, 0.0, m, s), rel=1e-6)


@pytest.mark.parametrize(
    ("subject", "equation", "parameter", "message"),
    [
        (Subject(Sex.MALE, 95.5, 170.0), GLI_GLOBAL, PftParameter.FEV1, "outside the 3-95 years"),
        (Subject(Sex.MALE, 2.9, 95.0), GLI_GLOBAL, PftParameter.FEV1, "outside the 3-95 years"),
        (Subject(Sex.MALE, 96.0, 170.0), GLI_2012_EQ, PftParameter.FEV1, "3-95 years"),
        (Subject(Sex.FEMALE, 90.5, 160.0), GLI_2017_EQ, PftParameter.DLCO, "5-90 years"),
        (Subject(Sex.FEMALE, 4.5, 105.0), GLI_2017_EQ, PftParameter.DLCO, "5-90 years"),
        (Subject(Sex.MALE, 60.0, 1.70), GLI_GLOBAL, PftParameter.FEV1, "height 1.7 cm"),
        (Subject(Sex.MALE, 60.0, 67.0), GLI_GLOBAL, PftParameter.FEV1, "height 67.0 cm"),
        (Subject(Sex.MALE, float("nan"), 170.0), GLI_GLOBAL, PftParameter.FVC, "age nan"),
    ],
)
def test_subjects_outside_the_equations_are_refused_not_extrapolated(
    subject: Subject, equation: ReferenceEquation, parameter: PftParameter, message: str
) -> None:
    ethnicity = Gli2012Ethnicity.CAUCASIAN if equation is GLI_2012_EQ else None
    value = 20.0 if parameter is PftParameter.DLCO else 2.0
    with pytest.raises(PftReferenceError, match=re.escape(message)):
        compare_with_reference(parameter, value, subject, equation=equation, ethnicity=ethnicity)


@pytest.mark.parametrize(
    ("parameter", "value", "message"),
    [
        (PftParameter.FEV1, 2500.0, "FEV1 2500.0 L is outside"),
        (PftParameter.FVC, 0.0, "FVC 0.0 L is outside"),
        (PftParameter.FEV1_FVC, 78.0, "FEV1/FVC 78.0 1 is outside"),
        (PftParameter.FEV1, float("inf"), "FEV1 inf L"),
    ],
)
def test_implausible_measurements_are_rejected(
    parameter: PftParameter, value: float, message: str
) -> None:
    with pytest.raises(PftReferenceError, match=re.escape(message)):
        compare_with_reference(parameter, value, MAN_60, equation=GLI_GLOBAL)


def test_gli_2012_needs_an_ethnic_group() -> None:
    with pytest.raises(PftReferenceError, match="GLI-2012 needs the subject's ethnic group"):
        compare_with_reference(PftParameter.FEV1, 2.5, MAN_60, equation=GLI_2012_EQ)


def test_gli_global_refuses_an_ethnic_group_it_would_ignore() -> None:
    with pytest.raises(PftReferenceError, match="does not use an ethnic group"):
        compare_with_reference(
            PftParameter.FEV1,
            2.5,
            MAN_60,
            equation=GLI_GLOBAL,
            ethnicity=Gli2012Ethnicity.NORTH_EAST_ASIAN,
        )


@pytest.mark.parametrize(
    ("parameter", "equation"),
    [
        (PftParameter.DLCO, GLI_GLOBAL),
        (PftParameter.TLCO, GLI_2012_EQ),
        (PftParameter.FEV1, GLI_2017_EQ),
    ],
)
def test_a_parameter_needs_an_equation_that_covers_it(
    parameter: PftParameter, equation: ReferenceEquation
) -> None:
    ethnicity = Gli2012Ethnicity.CAUCASIAN if equation is GLI_2012_EQ else None
    with pytest.raises(PftReferenceError, match="has no reference values for"):
        compare_with_reference(parameter, 5.0, MAN_60, equation=equation, ethnicity=ethnicity)


@pytest.mark.parametrize(
    ("sex", "age", "hb_g_dl", "factor"),
    [
        # At the standard Hb (14.6 g/dL men, 13.4 g/dL women) the correction is exactly 1.
        (Sex.MALE, 60.0, 14.6, 1.0),
        (Sex.FEMALE, 60.0, 13.4, 1.0),
        (Sex.MALE, 60.0, 10.0, (10.22 + 10.0) / 17.0),
        (Sex.FEMALE, 60.0, 10.0, (9.38 + 10.0) / 17.0),
        # Boys under 15 use the children's K.
        (Sex.MALE, 14.9, 10.0, (9.38 + 10.0) / 17.0),
        (Sex.MALE, 15.0, 10.0, (10.22 + 10.0) / 17.0),
    ],
)
def test_haemoglobin_correction_factor(sex: Sex, age: float, hb_g_dl: float, factor: float) -> None:
    assert haemoglobin_correction_factor(
        haemoglobin_g_dl=hb_g_dl, sex=sex, age_years=age
    ) == pytest.approx(factor, rel=1e-12)


def test_an_anaemic_patients_dlco_is_corrected_up_before_comparison() -> None:
    report = assess_pft(
        PftMeasurements(transfer_factor=19.4, haemoglobin=Haemoglobin(100.0, HaemoglobinUnit.G_L)),
        MAN_60,
    )
    transfer = report.transfer_factor
    assert transfer is not None
    assert transfer.haemoglobin_g_dl == 10.0
    assert transfer.correction_factor == pytest.approx(20.22 / 17.0)
    assert transfer.corrected == pytest.approx(19.4 * 20.22 / 17.0)
    assert transfer.comparison.measured == transfer.corrected
    assert transfer.comparison.percent_predicted == pytest.approx(
        100 * 19.4 * 20.22 / 17.0 / 25.20953, rel=1e-6
    )


def test_without_haemoglobin_the_measured_dlco_is_compared() -> None:
    report = assess_pft(PftMeasurements(transfer_factor=19.4), MAN_60)
    transfer = report.transfer_factor
    assert transfer is not None
    assert transfer.corrected is None
    assert transfer.correction_factor is None
    assert transfer.comparison.measured == 19.4
    assert round(transfer.comparison.percent_predicted, 2) == 76.96


def test_tlco_in_si_units_is_compared_with_the_si_reference() -> None:
    report = assess_pft(
        PftMeasurements(transfer_factor=6.5, transfer_factor_parameter=PftParameter.TLCO),
        MAN_60,
    )
    assert report.transfer_factor is not None
    assert report.transfer_factor.comparison.unit == "mmol/min/kPa"
    assert round(report.transfer_factor.comparison.percent_predicted, 2) == 77.02


def test_haemoglobin_out_of_range_is_rejected() -> None:
    with pytest.raises(PftReferenceError, match=re.escape("haemoglobin 146.0 g/dL")):
        assess_pft(
            PftMeasurements(
                transfer_factor=19.4, haemoglobin=Haemoglobin(146.0, HaemoglobinUnit.G_DL)
            ),
            MAN_60,
        )


def test_haemoglobin_without_a_transfer_factor_is_rejected() -> None:
    with pytest.raises(PftReferenceError, match="no transfer factor to correct"):
        assess_pft(
            PftMeasurements(fev1_l=2.5, haemoglobin=Haemoglobin(14.0, HaemoglobinUnit.G_DL)),
            MAN_60,
        )


def test_a_session_computes_fev1_fvc_from_its_own_fev1_and_fvc() -> None:
    report = assess_pft(PftMeasurements(fev1_l=2.5, fvc_l=3.2), MAN_60)
    assert report.fev1 is not None
    assert report.fvc is not None
    assert report.fev1_fvc is not None
    assert report.fev1_fvc.measured == 2.5 / 3.2
    assert report.fev1_fvc.predicted == pytest.approx(0.78714, abs=1e-5)
    assert report.transfer_factor is None


def test_a_session_with_fev1_only_has_no_ratio() -> None:
    report = assess_pft(PftMeasurements(fev1_l=2.5), MAN_60)
    assert report.fev1 is not None
    assert report.fvc is None
    assert report.fev1_fvc is None


def test_fev1_above_fvc_is_rejected() -> None:
    with pytest.raises(PftReferenceError, match=re.escape("FEV1 3.5 L exceeds FVC 3.2 L")):
        assess_pft(PftMeasurements(fev1_l=3.5, fvc_l=3.2), MAN_60)


def test_a_session_can_use_gli_2012_with_an_ethnic_group() -> None:
    report = assess_pft(
        PftMeasurements(fev1_l=2.5),
        MAN_60,
        spirometry_equation=GLI_2012_EQ,
        ethnicity=Gli2012Ethnicity.NORTH_EAST_ASIAN,
    )
    assert report.fev1 is not None
    assert report.fev1.equation is GLI_2012_EQ
    assert report.fev1.ethnicity is Gli2012Ethnicity.NORTH_EAST_ASIAN
    assert report.fev1.predicted == pytest.approx(3.13642, abs=1e-5)


def test_the_transfer_factor_equation_is_not_a_spirometry_equation() -> None:
    with pytest.raises(PftReferenceError, match="not a spirometry one"):
        assess_pft(PftMeasurements(fev1_l=2.5), MAN_60, spirometry_equation=GLI_2017_EQ)
