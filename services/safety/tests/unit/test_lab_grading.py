"""CTCAE v5.0 grading from numbers: every term of CTCAE-LAB-GRADING.md on both sides of every
boundary, in conventional and SI units, with normal and abnormal baselines."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from safety.grading.lab import LabContext, LabInputError, LabTerm, grade_lab

T = LabTerm
D = Decimal


def case(
    term: LabTerm,
    value: str,
    unit: str,
    grade: int | None,
    *,
    lln: str | None = None,
    uln: str | None = None,
    baseline: str | None = None,
    baseline_normal: bool | None = None,
    **context: Any,
) -> Any:
    given = {k: v for k, v in context.items() if v is not None}
    numbers: dict[str, Any] = {k: D(v) if isinstance(v, str) else v for k, v in given.items()}
    limits = [f"{name}={v}" for name, v in (("LLN", lln), ("ULN", uln), ("BL", baseline)) if v]
    flags = [f"{k}={v}" for k, v in given.items()]
    if baseline_normal is not None:
        flags.append(f"baseline_normal={baseline_normal}")
    label = " ".join([f"{term.value}", f"{value}{unit}", *limits, *flags, f"-> {grade}"])
    return pytest.param(
        term,
        D(value),
        unit,
        {
            "lln": None if lln is None else D(lln),
            "uln": None if uln is None else D(uln),
            "baseline": None if baseline is None else D(baseline),
            "baseline_normal": baseline_normal,
            "context": LabContext(**numbers),
        },
        grade,
        id=label,
    )


HEMATOLOGY = [
    # Anemia: G1 <LLN–10.0 g/dL (<LLN–6.2 mmol/L; <LLN–100 g/L), G2 <10.0–8.0, G3 <8.0.
    case(T.ANEMIA, "12.0", "g/dL", 0, lln="12.0"),
    case(T.ANEMIA, "11.9", "g/dL", 1, lln="12.0"),
    case(T.ANEMIA, "10.0", "g/dL", 1, lln="12.0"),
    case(T.ANEMIA, "9.99", "g/dL", 2, lln="12.0"),
    case(T.ANEMIA, "8.0", "g/dL", 2, lln="12.0"),
    case(T.ANEMIA, "7.99", "g/dL", 3, lln="12.0"),
    case(T.ANEMIA, "9.0", "g/dL", 2),
    case(T.ANEMIA, "7.4", "mmol/L", 0, lln="7.4"),
    case(T.ANEMIA, "6.2", "mmol/L", 1, lln="7.4"),
    case(T.ANEMIA, "6.19", "mmol/L", 2, lln="7.4"),
    case(T.ANEMIA, "4.9", "mmol/L", 2, lln="7.4"),
    case(T.ANEMIA, "4.89", "mmol/L", 3, lln="7.4"),
    case(T.ANEMIA, "100", "g/L", 1, lln="120"),
    case(T.ANEMIA, "99.9", "g/L", 2, lln="120"),
    case(T.ANEMIA, "80", "g/L", 2, lln="120"),
    case(T.ANEMIA, "79.9", "g/L", 3, lln="120"),
    # Neutrophil count decreased: 1500 / 1000 / 500 per mm3; 1.5 / 1.0 / 0.5 x 10e9/L.
    case(T.NEUTROPHIL_COUNT_DECREASED, "2000", "/mm3", 0, lln="2000"),
    case(T.NEUTROPHIL_COUNT_DECREASED, "1999", "/mm3", 1, lln="2000"),
    case(T.NEUTROPHIL_COUNT_DECREASED, "1500", "/mm3", 1, lln="2000"),
    case(T.NEUTROPHIL_COUNT_DECREASED, "1499", "/mm3", 2, lln="2000"),
    case(T.NEUTROPHIL_COUNT_DECREASED, "1000", "/uL", 2, lln="2000"),
    case(T.NEUTROPHIL_COUNT_DECREASED, "999", "cells/uL", 3, lln="2000"),
    case(T.NEUTROPHIL_COUNT_DECREASED, "500", "/mm3", 3, lln="2000"),
    case(T.NEUTROPHIL_COUNT_DECREASED, "499", "/mm3", 4, lln="2000"),
    case(T.NEUTROPHIL_COUNT_DECREASED, "1.5", "10*9/L", 1, lln="2.0"),
    case(T.NEUTROPHIL_COUNT_DECREASED, "1.49", "10^9/L", 2, lln="2.0"),
    case(T.NEUTROPHIL_COUNT_DECREASED, "1.0", "x 10e9 /L", 2, lln="2.0"),
    case(T.NEUTROPHIL_COUNT_DECREASED, "0.99", "10e9/L", 3, lln="2.0"),
    case(T.NEUTROPHIL_COUNT_DECREASED, "0.5", "10*3/uL", 3, lln="2.0"),
    case(T.NEUTROPHIL_COUNT_DECREASED, "0.49", "10*9/L", 4, lln="2.0"),
    # Platelet count decreased: 75,000 / 50,000 / 25,000 per mm3.
    case(T.PLATELET_COUNT_DECREASED, "150000", "/mm3", 0, lln="150000"),
    case(T.PLATELET_COUNT_DECREASED, "75000", "/mm3", 1, lln="150000"),
    case(T.PLATELET_COUNT_DECREASED, "74999", "/mm3", 2, lln="150000"),
    case(T.PLATELET_COUNT_DECREASED, "50000", "/mm3", 2, lln="150000"),
    case(T.PLATELET_COUNT_DECREASED, "49999", "/mm3", 3, lln="150000"),
    case(T.PLATELET_COUNT_DECREASED, "25000", "/mm3", 3, lln="150000"),
    case(T.PLATELET_COUNT_DECREASED, "24999", "/mm3", 4, lln="150000"),
    case(T.PLATELET_COUNT_DECREASED, "75.0", "10*9/L", 1, lln="150"),
    case(T.PLATELET_COUNT_DECREASED, "74.9", "10*9/L", 2, lln="150"),
    case(T.PLATELET_COUNT_DECREASED, "49.9", "10*9/L", 3, lln="150"),
    case(T.PLATELET_COUNT_DECREASED, "25.0", "10*9/L", 3, lln="150"),
    case(T.PLATELET_COUNT_DECREASED, "24.9", "10*9/L", 4, lln="150"),
    # White blood cell decreased: 3000 / 2000 / 1000.
    case(T.WHITE_BLOOD_CELL_DECREASED, "3000", "/mm3", 1, lln="4000"),
    case(T.WHITE_BLOOD_CELL_DECREASED, "2999", "/mm3", 2, lln="4000"),
    case(T.WHITE_BLOOD_CELL_DECREASED, "2000", "/mm3", 2, lln="4000"),
    case(T.WHITE_BLOOD_CELL_DECREASED, "1999", "/mm3", 3, lln="4000"),
    case(T.WHITE_BLOOD_CELL_DECREASED, "1000", "/mm3", 3, lln="4000"),
    case(T.WHITE_BLOOD_CELL_DECREASED, "999", "/mm3", 4, lln="4000"),
    case(T.WHITE_BLOOD_CELL_DECREASED, "3.0", "10*9/L", 1, lln="4.0"),
    case(T.WHITE_BLOOD_CELL_DECREASED, "2.99", "10*9/L", 2, lln="4.0"),
    case(T.WHITE_BLOOD_CELL_DECREASED, "0.99", "10*9/L", 4, lln="4.0"),
    # Lymphocyte count decreased: 800 / 500 / 200.
    case(T.LYMPHOCYTE_COUNT_DECREASED, "800", "/mm3", 1, lln="1000"),
    case(T.LYMPHOCYTE_COUNT_DECREASED, "799", "/mm3", 2, lln="1000"),
    case(T.LYMPHOCYTE_COUNT_DECREASED, "500", "/mm3", 2, lln="1000"),
    case(T.LYMPHOCYTE_COUNT_DECREASED, "499", "/mm3", 3, lln="1000"),
    case(T.LYMPHOCYTE_COUNT_DECREASED, "200", "/mm3", 3, lln="1000"),
    case(T.LYMPHOCYTE_COUNT_DECREASED, "199", "/mm3", 4, lln="1000"),
    case(T.LYMPHOCYTE_COUNT_DECREASED, "0.8", "10*9/L", 1, lln="1.0"),
    case(T.LYMPHOCYTE_COUNT_DECREASED, "0.79", "10*9/L", 2, lln="1.0"),
    case(T.LYMPHOCYTE_COUNT_DECREASED, "0.2", "10*9/L", 3, lln="1.0"),
    case(T.LYMPHOCYTE_COUNT_DECREASED, "0.19", "10*9/L", 4, lln="1.0"),
    # Lymphocyte count increased: G2 >4000–20,000/mm3, G3 >20,000/mm3 (no G1).
    case(T.LYMPHOCYTE_COUNT_INCREASED, "4000", "/mm3", 0),
    case(T.LYMPHOCYTE_COUNT_INCREASED, "4001", "/mm3", 2),
    case(T.LYMPHOCYTE_COUNT_INCREASED, "20000", "/mm3", 2),
    case(T.LYMPHOCYTE_COUNT_INCREASED, "20001", "/mm3", 3),
    case(T.LYMPHOCYTE_COUNT_INCREASED, "4.0", "10*9/L", 0),
    case(T.LYMPHOCYTE_COUNT_INCREASED, "4.01", "10*9/L", 2),
    case(T.LYMPHOCYTE_COUNT_INCREASED, "20.01", "10*9/L", 3),
    # CD4 lymphocytes decreased: 500 / 200 / 50; SI 0.5 / 0.2 / 0.05.
    case(T.CD4_LYMPHOCYTES_DECREASED, "500", "/mm3", 1, lln="600"),
    case(T.CD4_LYMPHOCYTES_DECREASED, "499", "/mm3", 2, lln="600"),
    case(T.CD4_LYMPHOCYTES_DECREASED, "200", "/mm3", 2, lln="600"),
    case(T.CD4_LYMPHOCYTES_DECREASED, "199", "/mm3", 3, lln="600"),
    case(T.CD4_LYMPHOCYTES_DECREASED, "50", "/mm3", 3, lln="600"),
    case(T.CD4_LYMPHOCYTES_DECREASED, "49", "/mm3", 4, lln="600"),
    case(T.CD4_LYMPHOCYTES_DECREASED, "0.2", "10*9/L", 2, lln="0.6"),
    case(T.CD4_LYMPHOCYTES_DECREASED, "0.19", "10*9/L", 3, lln="0.6"),
    case(T.CD4_LYMPHOCYTES_DECREASED, "0.05", "10*9/L", 3, lln="0.6"),
    case(T.CD4_LYMPHOCYTES_DECREASED, "0.049", "10*9/L", 4, lln="0.6"),
    # Leukocytosis: G3 >100,000/mm3 only.
    case(T.LEUKOCYTOSIS, "100000", "/mm3", 0),
    case(T.LEUKOCYTOSIS, "100001", "/mm3", 3),
    case(T.LEUKOCYTOSIS, "100", "10*9/L", 0),
    case(T.LEUKOCYTOSIS, "100.1", "10*9/L", 3),
    # Eosinophilia: G1 >ULN and >Baseline.
    case(T.EOSINOPHILIA, "0.5", "10*9/L", 0, uln="0.5", baseline="0.3"),
    case(T.EOSINOPHILIA, "0.51", "10*9/L", 1, uln="0.5", baseline="0.3"),
    case(T.EOSINOPHILIA, "0.6", "10*9/L", 0, uln="0.5", baseline="0.6"),
    case(T.EOSINOPHILIA, "0.61", "10*9/L", 1, uln="0.5", baseline="0.6"),
    # Hemoglobin increased: increase over ULN >0–2, >2–4, >4 g/dL.
    case(T.HEMOGLOBIN_INCREASED, "16.0", "g/dL", 0, uln="16.0"),
    case(T.HEMOGLOBIN_INCREASED, "16.1", "g/dL", 1, uln="16.0"),
    case(T.HEMOGLOBIN_INCREASED, "18.0", "g/dL", 1, uln="16.0"),
    case(T.HEMOGLOBIN_INCREASED, "18.1", "g/dL", 2, uln="16.0"),
    case(T.HEMOGLOBIN_INCREASED, "20.0", "g/dL", 2, uln="16.0"),
    case(T.HEMOGLOBIN_INCREASED, "20.1", "g/dL", 3, uln="16.0"),
    case(T.HEMOGLOBIN_INCREASED, "180", "g/L", 1, uln="160"),
    case(T.HEMOGLOBIN_INCREASED, "181", "g/L", 2, uln="160"),
    case(T.HEMOGLOBIN_INCREASED, "200", "g/L", 2, uln="160"),
    case(T.HEMOGLOBIN_INCREASED, "201", "g/L", 3, uln="160"),
    # Febrile neutropenia: ANC <1000/mm3 with >38.3 °C once or >=38 °C sustained >1 h.
    case(T.FEBRILE_NEUTROPENIA, "999", "/mm3", 3, peak_temperature_celsius="38.4"),
    case(
        T.FEBRILE_NEUTROPENIA,
        "999",
        "/mm3",
        0,
        peak_temperature_celsius="38.3",
        sustained_fever_over_one_hour=False,
    ),
    case(
        T.FEBRILE_NEUTROPENIA,
        "999",
        "/mm3",
        3,
        peak_temperature_celsius="38.3",
        sustained_fever_over_one_hour=True,
    ),
    case(T.FEBRILE_NEUTROPENIA, "1000", "/mm3", 0, peak_temperature_celsius="39.5"),
    case(T.FEBRILE_NEUTROPENIA, "0.99", "10*9/L", 3, peak_temperature_celsius="38.5"),
]

LIVER = [
    # ALT/AST: normal baseline x ULN 3 / 5 / 20; abnormal baseline x BL 1.5 (inclusive) / 3 / 5 …
    *(
        case(term, value, "U/L", grade, uln="40", baseline_normal=True)
        for term in (
            T.ALANINE_AMINOTRANSFERASE_INCREASED,
            T.ASPARTATE_AMINOTRANSFERASE_INCREASED,
        )
        for value, grade in (
            ("40", 0),
            ("40.1", 1),
            ("120", 1),
            ("120.1", 2),
            ("200", 2),
            ("200.1", 3),
            ("800", 3),
            ("800.1", 4),
        )
    ),
    *(
        case(term, value, "U/L", grade, uln="40", baseline="60", baseline_normal=False)
        for term in (
            T.ALANINE_AMINOTRANSFERASE_INCREASED,
            T.ASPARTATE_AMINOTRANSFERASE_INCREASED,
        )
        for value, grade in (
            ("89.9", 0),
            ("90", 1),
            ("180", 1),
            ("180.1", 2),
            ("300", 2),
            ("300.1", 3),
            ("1200", 3),
            ("1200.1", 4),
        )
    ),
    case(T.ALANINE_AMINOTRANSFERASE_INCREASED, "100", "U/L", 1, uln="40", baseline="30"),
    case(T.ALANINE_AMINOTRANSFERASE_INCREASED, "100", "U/L", 1, uln="40", baseline="60"),
    case(T.ALANINE_AMINOTRANSFERASE_INCREASED, "2.1", "ukat/L", 2, uln="0.67", baseline="0.4"),
    # ALP/GGT: normal baseline x ULN 2.5 / 5 / 20; abnormal baseline x BL 2.0 (inclusive) / 2.5 …
    *(
        case(term, value, "U/L", grade, uln="100", baseline_normal=True)
        for term in (T.ALKALINE_PHOSPHATASE_INCREASED, T.GGT_INCREASED)
        for value, grade in (
            ("100", 0),
            ("101", 1),
            ("250", 1),
            ("250.1", 2),
            ("500", 2),
            ("500.1", 3),
            ("2000", 3),
            ("2000.1", 4),
        )
    ),
    *(
        case(term, value, "U/L", grade, uln="100", baseline="150", baseline_normal=False)
        for term in (T.ALKALINE_PHOSPHATASE_INCREASED, T.GGT_INCREASED)
        for value, grade in (
            ("299", 0),
            ("300", 1),
            ("375", 1),
            ("375.1", 2),
            ("750", 2),
            ("750.1", 3),
            ("3000", 3),
            ("3000.1", 4),
        )
    ),
    # Bilirubin: normal baseline x ULN 1.5 / 3 / 10; abnormal baseline >1.0 (exclusive) x BL …
    *(
        case(T.BLOOD_BILIRUBIN_INCREASED, value, "mg/dL", grade, uln="1.2", baseline_normal=True)
        for value, grade in (
            ("1.2", 0),
            ("1.21", 1),
            ("1.8", 1),
            ("1.81", 2),
            ("3.6", 2),
            ("3.61", 3),
            ("12", 3),
            ("12.1", 4),
        )
    ),
    *(
        case(
            T.BLOOD_BILIRUBIN_INCREASED,
            value,
            "mg/dL",
            grade,
            uln="1.2",
            baseline="2.0",
            baseline_normal=False,
        )
        for value, grade in (
            ("2.0", 0),
            ("2.01", 1),
            ("3.0", 1),
            ("3.01", 2),
            ("6.0", 2),
            ("6.01", 3),
            ("20", 3),
            ("20.1", 4),
        )
    ),
    case(T.BLOOD_BILIRUBIN_INCREASED, "21", "umol/L", 0, uln="21", baseline_normal=True),
    case(T.BLOOD_BILIRUBIN_INCREASED, "22", "µmol/L", 1, uln="21", baseline_normal=True),
]

KIDNEY_AND_ENZYMES = [
    # Creatinine: G1 >ULN–1.5 ULN; G2 >1.5–3 BL or >1.5–3 ULN; G3 >3 BL or >3–6 ULN; G4 >6 ULN.
    case(T.CREATININE_INCREASED, "1.0", "mg/dL", 0, uln="1.0", baseline="0.9"),
    case(T.CREATININE_INCREASED, "1.01", "mg/dL", 1, uln="1.0", baseline="0.9"),
    case(T.CREATININE_INCREASED, "1.35", "mg/dL", 1, uln="1.0", baseline="0.9"),
    case(T.CREATININE_INCREASED, "1.36", "mg/dL", 2, uln="1.0", baseline="0.9"),
    case(T.CREATININE_INCREASED, "1.5", "mg/dL", 1, uln="1.0", baseline="10"),
    case(T.CREATININE_INCREASED, "1.51", "mg/dL", 2, uln="1.0", baseline="10"),
    case(T.CREATININE_INCREASED, "3.0", "mg/dL", 2, uln="1.0", baseline="10"),
    case(T.CREATININE_INCREASED, "3.01", "mg/dL", 3, uln="1.0", baseline="10"),
    case(T.CREATININE_INCREASED, "6.0", "mg/dL", 3, uln="1.0", baseline="10"),
    case(T.CREATININE_INCREASED, "6.01", "mg/dL", 4, uln="1.0", baseline="10"),
    case(T.CREATININE_INCREASED, "0.75", "mg/dL", 0, uln="100", baseline="0.5"),
    case(T.CREATININE_INCREASED, "0.76", "mg/dL", 2, uln="100", baseline="0.5"),
    case(T.CREATININE_INCREASED, "1.5", "mg/dL", 2, uln="100", baseline="0.5"),
    case(T.CREATININE_INCREASED, "1.51", "mg/dL", 3, uln="100", baseline="0.5"),
    case(T.CREATININE_INCREASED, "91", "umol/L", 1, uln="90", baseline="80"),
    # CPK: >ULN–2.5 ULN, >2.5–5, >5–10, >10.
    case(T.CPK_INCREASED, "200", "U/L", 0, uln="200"),
    case(T.CPK_INCREASED, "201", "U/L", 1, uln="200"),
    case(T.CPK_INCREASED, "500", "U/L", 1, uln="200"),
    case(T.CPK_INCREASED, "501", "U/L", 2, uln="200"),
    case(T.CPK_INCREASED, "1000", "U/L", 2, uln="200"),
    case(T.CPK_INCREASED, "1001", "U/L", 3, uln="200"),
    case(T.CPK_INCREASED, "2000", "U/L", 3, uln="200"),
    case(T.CPK_INCREASED, "2001", "U/L", 4, uln="200"),
    # Lipase / amylase: >2 ULN split by signs or symptoms.
    *(
        case(term, value, "U/L", grade, uln="60", symptomatic=symptomatic)
        for term in (T.LIPASE_INCREASED, T.SERUM_AMYLASE_INCREASED)
        for value, grade, symptomatic in (
            ("60", 0, None),
            ("61", 1, None),
            ("90", 1, None),
            ("90.1", 2, None),
            ("120", 2, None),
            ("120.1", 2, False),
            ("120.1", 3, True),
            ("300", 2, False),
            ("300.1", 3, False),
            ("300.1", 4, True),
        )
    ),
    case(T.BLOOD_LACTATE_DEHYDROGENASE_INCREASED, "250", "U/L", 0, uln="250"),
    case(T.BLOOD_LACTATE_DEHYDROGENASE_INCREASED, "251", "U/L", 1, uln="250"),
    case(T.BLOOD_LACTATE_DEHYDROGENASE_INCREASED, "2500", "U/L", 1, uln="250"),
    case(T.HAPTOGLOBIN_DECREASED, "0.3", "g/L", 0, lln="0.3"),
    case(T.HAPTOGLOBIN_DECREASED, "0.29", "g/L", 1, lln="0.3"),
    case(T.BLOOD_BICARBONATE_DECREASED, "22", "mmol/L", 0, lln="22"),
    case(T.BLOOD_BICARBONATE_DECREASED, "21", "mmol/L", 1, lln="22", intervention_initiated=False),
    case(T.BLOOD_BICARBONATE_DECREASED, "21", "mEq/L", 1, lln="22", intervention_initiated=False),
    case(
        T.BLOOD_BICARBONATE_DECREASED, "21", "mmol/L", None, lln="22", intervention_initiated=True
    ),
    # Hypoalbuminemia: <LLN–3 g/dL, <3–2, <2 (30 / 20 g/L).
    case(T.HYPOALBUMINEMIA, "3.5", "g/dL", 0, lln="3.5"),
    case(T.HYPOALBUMINEMIA, "3.0", "g/dL", 1, lln="3.5"),
    case(T.HYPOALBUMINEMIA, "2.99", "g/dL", 2, lln="3.5"),
    case(T.HYPOALBUMINEMIA, "2.0", "g/dL", 2, lln="3.5"),
    case(T.HYPOALBUMINEMIA, "1.99", "g/dL", 3, lln="3.5"),
    case(T.HYPOALBUMINEMIA, "30", "g/L", 1, lln="35"),
    case(T.HYPOALBUMINEMIA, "29.9", "g/L", 2, lln="35"),
    case(T.HYPOALBUMINEMIA, "20", "g/L", 2, lln="35"),
    case(T.HYPOALBUMINEMIA, "19.9", "g/L", 3, lln="35"),
    # Cholesterol high: >ULN–300, >300–400, >400–500, >500 mg/dL (7.75 / 10.34 / 12.92 mmol/L).
    case(T.CHOLESTEROL_HIGH, "200", "mg/dL", 0, uln="200"),
    case(T.CHOLESTEROL_HIGH, "201", "mg/dL", 1, uln="200"),
    case(T.CHOLESTEROL_HIGH, "300", "mg/dL", 1, uln="200"),
    case(T.CHOLESTEROL_HIGH, "301", "mg/dL", 2, uln="200"),
    case(T.CHOLESTEROL_HIGH, "400", "mg/dL", 2, uln="200"),
    case(T.CHOLESTEROL_HIGH, "401", "mg/dL", 3, uln="200"),
    case(T.CHOLESTEROL_HIGH, "500", "mg/dL", 3, uln="200"),
    case(T.CHOLESTEROL_HIGH, "501", "mg/dL", 4, uln="200"),
    case(T.CHOLESTEROL_HIGH, "7.75", "mmol/L", 1, uln="5.2"),
    case(T.CHOLESTEROL_HIGH, "7.76", "mmol/L", 2, uln="5.2"),
    case(T.CHOLESTEROL_HIGH, "10.34", "mmol/L", 2, uln="5.2"),
    case(T.CHOLESTEROL_HIGH, "10.35", "mmol/L", 3, uln="5.2"),
    case(T.CHOLESTEROL_HIGH, "12.92", "mmol/L", 3, uln="5.2"),
    case(T.CHOLESTEROL_HIGH, "12.93", "mmol/L", 4, uln="5.2"),
    # Hypertriglyceridemia: 150–300 (inclusive 150), >300–500, >500–1000, >1000 mg/dL.
    case(T.HYPERTRIGLYCERIDEMIA, "149", "mg/dL", 0),
    case(T.HYPERTRIGLYCERIDEMIA, "150", "mg/dL", 1),
    case(T.HYPERTRIGLYCERIDEMIA, "300", "mg/dL", 1),
    case(T.HYPERTRIGLYCERIDEMIA, "301", "mg/dL", 2),
    case(T.HYPERTRIGLYCERIDEMIA, "500", "mg/dL", 2),
    case(T.HYPERTRIGLYCERIDEMIA, "501", "mg/dL", 3),
    case(T.HYPERTRIGLYCERIDEMIA, "1000", "mg/dL", 3),
    case(T.HYPERTRIGLYCERIDEMIA, "1001", "mg/dL", 4),
    case(T.HYPERTRIGLYCERIDEMIA, "1.70", "mmol/L", 0),
    case(T.HYPERTRIGLYCERIDEMIA, "1.71", "mmol/L", 1),
    case(T.HYPERTRIGLYCERIDEMIA, "3.42", "mmol/L", 1),
    case(T.HYPERTRIGLYCERIDEMIA, "3.43", "mmol/L", 2),
    case(T.HYPERTRIGLYCERIDEMIA, "5.7", "mmol/L", 2),
    case(T.HYPERTRIGLYCERIDEMIA, "5.71", "mmol/L", 3),
    case(T.HYPERTRIGLYCERIDEMIA, "11.4", "mmol/L", 3),
    case(T.HYPERTRIGLYCERIDEMIA, "11.41", "mmol/L", 4),
    # Troponins: >ULN and below the assay's MI level G1; at the MI level G3.
    *(
        case(term, value, "ng/L", grade, uln="26", mi_level="100")
        for term in (T.CARDIAC_TROPONIN_I_INCREASED, T.CARDIAC_TROPONIN_T_INCREASED)
        for value, grade in (("26", 0), ("27", 1), ("99", 1), ("100", 3))
    ),
]

COAGULATION = [
    case(T.ACTIVATED_PARTIAL_THROMBOPLASTIN_TIME_PROLONGED, "35", "s", 0, uln="35"),
    case(T.ACTIVATED_PARTIAL_THROMBOPLASTIN_TIME_PROLONGED, "35.1", "s", 1, uln="35"),
    case(T.ACTIVATED_PARTIAL_THROMBOPLASTIN_TIME_PROLONGED, "52.5", "s", 1, uln="35"),
    case(T.ACTIVATED_PARTIAL_THROMBOPLASTIN_TIME_PROLONGED, "52.6", "s", 2, uln="35"),
    case(T.ACTIVATED_PARTIAL_THROMBOPLASTIN_TIME_PROLONGED, "87.5", "s", 2, uln="35"),
    case(T.ACTIVATED_PARTIAL_THROMBOPLASTIN_TIME_PROLONGED, "87.6", "s", 3, uln="35"),
    # INR: absolute off anticoagulation, x baseline on it.
    *(
        case(T.INR_INCREASED, value, "", grade, on_anticoagulation=False)
        for value, grade in (
            ("1.2", 0),
            ("1.21", 1),
            ("1.5", 1),
            ("1.51", 2),
            ("2.5", 2),
            ("2.51", 3),
        )
    ),
    *(
        case(T.INR_INCREASED, value, "{INR}", grade, baseline="2.0", on_anticoagulation=True)
        for value, grade in (
            ("2.0", 0),
            ("2.01", 1),
            ("3.0", 1),
            ("3.01", 2),
            ("5.0", 2),
            ("5.01", 3),
        )
    ),
    # Fibrinogen: normal baseline x LLN 1.0 / 0.75 / 0.5 / 0.25; abnormal baseline % decrease.
    *(
        case(T.FIBRINOGEN_DECREASED, value, "mg/dL", grade, lln="200", baseline_normal=True)
        for value, grade in (
            ("200", 0),
            ("199", 1),
            ("150", 1),
            ("149", 2),
            ("100", 2),
            ("99", 3),
            ("50", 3),
            ("49", 4),
        )
    ),
    *(
        case(
            T.FIBRINOGEN_DECREASED,
            value,
            "mg/dL",
            grade,
            lln="200",
            baseline="400",
            baseline_normal=False,
        )
        for value, grade in (
            ("400", 0),
            ("399", 1),
            ("300.1", 1),
            ("300", 2),
            ("200.1", 2),
            ("200", 3),
            ("100.1", 3),
            ("100", 4),
        )
    ),
    case(T.FIBRINOGEN_DECREASED, "1.99", "g/L", 1, lln="2.0", baseline_normal=True),
    case(
        T.FIBRINOGEN_DECREASED, "0.49", "g/L", 4, lln="2.0", baseline="0.6", baseline_normal=False
    ),
]

ELECTROLYTES = [
    # Hyperkalemia: >ULN–5.5, >5.5–6.0, >6.0–7.0, >7.0 mmol/L.
    case(T.HYPERKALEMIA, "5.1", "mmol/L", 0, uln="5.1"),
    case(T.HYPERKALEMIA, "5.2", "mmol/L", 1, uln="5.1"),
    case(T.HYPERKALEMIA, "5.5", "mmol/L", 1, uln="5.1"),
    case(T.HYPERKALEMIA, "5.51", "mmol/L", 2, uln="5.1"),
    case(T.HYPERKALEMIA, "6.0", "mmol/L", 2, uln="5.1"),
    case(T.HYPERKALEMIA, "6.01", "mEq/L", 3, uln="5.1"),
    case(T.HYPERKALEMIA, "7.0", "mmol/L", 3, uln="5.1"),
    case(T.HYPERKALEMIA, "7.01", "mmol/L", 4, uln="5.1"),
    # Hypokalemia: <LLN–3.0 G1 (asymptomatic) or G2 (symptomatic); <3.0–2.5; <2.5.
    case(T.HYPOKALEMIA, "3.5", "mmol/L", 0, lln="3.5"),
    case(T.HYPOKALEMIA, "3.4", "mmol/L", 1, lln="3.5", symptomatic=False),
    case(T.HYPOKALEMIA, "3.4", "mmol/L", 2, lln="3.5", symptomatic=True),
    case(T.HYPOKALEMIA, "3.0", "mmol/L", 1, lln="3.5", symptomatic=False),
    case(T.HYPOKALEMIA, "2.99", "mmol/L", 3, lln="3.5"),
    case(T.HYPOKALEMIA, "2.5", "mEq/L", 3, lln="3.5"),
    case(T.HYPOKALEMIA, "2.49", "mmol/L", 4, lln="3.5"),
    # Hypernatremia: >ULN–150, >150–155, >155–160, >160.
    case(T.HYPERNATREMIA, "145", "mmol/L", 0, uln="145"),
    case(T.HYPERNATREMIA, "150", "mmol/L", 1, uln="145"),
    case(T.HYPERNATREMIA, "150.1", "mmol/L", 2, uln="145"),
    case(T.HYPERNATREMIA, "155", "mmol/L", 2, uln="145"),
    case(T.HYPERNATREMIA, "155.1", "mmol/L", 3, uln="145"),
    case(T.HYPERNATREMIA, "160", "mmol/L", 3, uln="145"),
    case(T.HYPERNATREMIA, "160.1", "mmol/L", 4, uln="145"),
    # Hyponatremia: <LLN–130; 125–129 by symptoms; 120–124; <120 (integer ranges half-open).
    case(T.HYPONATREMIA, "135", "mmol/L", 0, lln="135"),
    case(T.HYPONATREMIA, "134", "mmol/L", 1, lln="135"),
    case(T.HYPONATREMIA, "130", "mmol/L", 1, lln="135"),
    case(T.HYPONATREMIA, "129.9", "mmol/L", 2, lln="135", symptomatic=False),
    case(T.HYPONATREMIA, "129.6", "mmol/L", 3, lln="135", symptomatic=True),
    case(T.HYPONATREMIA, "125", "mmol/L", 2, lln="135", symptomatic=False),
    case(T.HYPONATREMIA, "124.9", "mmol/L", 3, lln="135", symptomatic=False),
    case(T.HYPONATREMIA, "124.5", "mmol/L", 3, lln="135"),
    case(T.HYPONATREMIA, "120", "mmol/L", 3, lln="135"),
    case(T.HYPONATREMIA, "119.9", "mmol/L", 4, lln="135"),
    # Hypercalcemia, corrected calcium: >ULN–11.5, >11.5–12.5, >12.5–13.5, >13.5 mg/dL.
    case(T.HYPERCALCEMIA_CORRECTED_CALCIUM, "10.2", "mg/dL", 0, uln="10.2"),
    case(T.HYPERCALCEMIA_CORRECTED_CALCIUM, "10.3", "mg/dL", 1, uln="10.2"),
    case(T.HYPERCALCEMIA_CORRECTED_CALCIUM, "11.5", "mg/dL", 1, uln="10.2"),
    case(T.HYPERCALCEMIA_CORRECTED_CALCIUM, "11.6", "mg/dL", 2, uln="10.2"),
    case(T.HYPERCALCEMIA_CORRECTED_CALCIUM, "12.5", "mg/dL", 2, uln="10.2"),
    case(T.HYPERCALCEMIA_CORRECTED_CALCIUM, "12.6", "mg/dL", 3, uln="10.2"),
    case(T.HYPERCALCEMIA_CORRECTED_CALCIUM, "13.5", "mg/dL", 3, uln="10.2"),
    case(T.HYPERCALCEMIA_CORRECTED_CALCIUM, "13.6", "mg/dL", 4, uln="10.2"),
    case(T.HYPERCALCEMIA_CORRECTED_CALCIUM, "2.9", "mmol/L", 1, uln="2.55"),
    case(T.HYPERCALCEMIA_CORRECTED_CALCIUM, "2.91", "mmol/L", 2, uln="2.55"),
    case(T.HYPERCALCEMIA_CORRECTED_CALCIUM, "3.1", "mmol/L", 2, uln="2.55"),
    case(T.HYPERCALCEMIA_CORRECTED_CALCIUM, "3.11", "mmol/L", 3, uln="2.55"),
    case(T.HYPERCALCEMIA_CORRECTED_CALCIUM, "3.4", "mmol/L", 3, uln="2.55"),
    case(T.HYPERCALCEMIA_CORRECTED_CALCIUM, "3.41", "mmol/L", 4, uln="2.55"),
    case(T.HYPERCALCEMIA_CORRECTED_CALCIUM, "6.0", "mEq/L", 2, uln="5.1"),
    case(T.HYPERCALCEMIA_IONIZED_CALCIUM, "1.3", "mmol/L", 0, uln="1.3"),
    case(T.HYPERCALCEMIA_IONIZED_CALCIUM, "1.5", "mmol/L", 1, uln="1.3"),
    case(T.HYPERCALCEMIA_IONIZED_CALCIUM, "1.51", "mmol/L", 2, uln="1.3"),
    case(T.HYPERCALCEMIA_IONIZED_CALCIUM, "1.6", "mmol/L", 2, uln="1.3"),
    case(T.HYPERCALCEMIA_IONIZED_CALCIUM, "1.61", "mmol/L", 3, uln="1.3"),
    case(T.HYPERCALCEMIA_IONIZED_CALCIUM, "1.8", "mmol/L", 3, uln="1.3"),
    case(T.HYPERCALCEMIA_IONIZED_CALCIUM, "1.81", "mmol/L", 4, uln="1.3"),
    # Hypocalcemia, corrected: <LLN–8.0, <8.0–7.0, <7.0–6.0, <6.0 mg/dL (2.0/1.75/1.5 mmol/L).
    case(T.HYPOCALCEMIA_CORRECTED_CALCIUM, "8.5", "mg/dL", 0, lln="8.5"),
    case(T.HYPOCALCEMIA_CORRECTED_CALCIUM, "8.0", "mg/dL", 1, lln="8.5"),
    case(T.HYPOCALCEMIA_CORRECTED_CALCIUM, "7.99", "mg/dL", 2, lln="8.5"),
    case(T.HYPOCALCEMIA_CORRECTED_CALCIUM, "7.0", "mg/dL", 2, lln="8.5"),
    case(T.HYPOCALCEMIA_CORRECTED_CALCIUM, "6.99", "mg/dL", 3, lln="8.5"),
    case(T.HYPOCALCEMIA_CORRECTED_CALCIUM, "6.0", "mg/dL", 3, lln="8.5"),
    case(T.HYPOCALCEMIA_CORRECTED_CALCIUM, "5.99", "mg/dL", 4, lln="8.5"),
    case(T.HYPOCALCEMIA_CORRECTED_CALCIUM, "2.0", "mmol/L", 1, lln="2.12"),
    case(T.HYPOCALCEMIA_CORRECTED_CALCIUM, "1.99", "mmol/L", 2, lln="2.12"),
    case(T.HYPOCALCEMIA_CORRECTED_CALCIUM, "1.75", "mmol/L", 2, lln="2.12"),
    case(T.HYPOCALCEMIA_CORRECTED_CALCIUM, "1.74", "mmol/L", 3, lln="2.12"),
    case(T.HYPOCALCEMIA_CORRECTED_CALCIUM, "1.5", "mmol/L", 3, lln="2.12"),
    case(T.HYPOCALCEMIA_CORRECTED_CALCIUM, "1.49", "mmol/L", 4, lln="2.12"),
    case(T.HYPOCALCEMIA_IONIZED_CALCIUM, "1.0", "mmol/L", 1, lln="1.15"),
    case(T.HYPOCALCEMIA_IONIZED_CALCIUM, "0.99", "mmol/L", 2, lln="1.15"),
    case(T.HYPOCALCEMIA_IONIZED_CALCIUM, "0.9", "mmol/L", 2, lln="1.15"),
    case(T.HYPOCALCEMIA_IONIZED_CALCIUM, "0.89", "mmol/L", 3, lln="1.15"),
    case(T.HYPOCALCEMIA_IONIZED_CALCIUM, "0.8", "mmol/L", 3, lln="1.15"),
    case(T.HYPOCALCEMIA_IONIZED_CALCIUM, "0.79", "mmol/L", 4, lln="1.15"),
    # Hypermagnesemia: >ULN–3.0 G1; >3.0–8.0 G3; >8.0 G4 mg/dL (1.23 / 3.30 mmol/L). No G2.
    case(T.HYPERMAGNESEMIA, "2.4", "mg/dL", 0, uln="2.4"),
    case(T.HYPERMAGNESEMIA, "3.0", "mg/dL", 1, uln="2.4"),
    case(T.HYPERMAGNESEMIA, "3.01", "mg/dL", 3, uln="2.4"),
    case(T.HYPERMAGNESEMIA, "8.0", "mg/dL", 3, uln="2.4"),
    case(T.HYPERMAGNESEMIA, "8.01", "mg/dL", 4, uln="2.4"),
    case(T.HYPERMAGNESEMIA, "1.23", "mmol/L", 1, uln="1.0"),
    case(T.HYPERMAGNESEMIA, "1.24", "mmol/L", 3, uln="1.0"),
    case(T.HYPERMAGNESEMIA, "3.30", "mmol/L", 3, uln="1.0"),
    case(T.HYPERMAGNESEMIA, "3.31", "mmol/L", 4, uln="1.0"),
    # Hypomagnesemia: <LLN–1.2, <1.2–0.9, <0.9–0.7, <0.7 mg/dL (0.5 / 0.4 / 0.3 mmol/L).
    case(T.HYPOMAGNESEMIA, "1.7", "mg/dL", 0, lln="1.7"),
    case(T.HYPOMAGNESEMIA, "1.2", "mg/dL", 1, lln="1.7"),
    case(T.HYPOMAGNESEMIA, "1.19", "mg/dL", 2, lln="1.7"),
    case(T.HYPOMAGNESEMIA, "0.9", "mg/dL", 2, lln="1.7"),
    case(T.HYPOMAGNESEMIA, "0.89", "mg/dL", 3, lln="1.7"),
    case(T.HYPOMAGNESEMIA, "0.7", "mg/dL", 3, lln="1.7"),
    case(T.HYPOMAGNESEMIA, "0.69", "mg/dL", 4, lln="1.7"),
    case(T.HYPOMAGNESEMIA, "0.5", "mmol/L", 1, lln="0.7"),
    case(T.HYPOMAGNESEMIA, "0.49", "mmol/L", 2, lln="0.7"),
    case(T.HYPOMAGNESEMIA, "0.4", "mmol/L", 2, lln="0.7"),
    case(T.HYPOMAGNESEMIA, "0.39", "mmol/L", 3, lln="0.7"),
    case(T.HYPOMAGNESEMIA, "0.3", "mmol/L", 3, lln="0.7"),
    case(T.HYPOMAGNESEMIA, "0.29", "mmol/L", 4, lln="0.7"),
    # Hypoglycemia: <LLN–55, <55–40, <40–30, <30 mg/dL (3.0 / 2.2 / 1.7 mmol/L).
    case(T.HYPOGLYCEMIA, "70", "mg/dL", 0, lln="70"),
    case(T.HYPOGLYCEMIA, "55", "mg/dL", 1, lln="70"),
    case(T.HYPOGLYCEMIA, "54.9", "mg/dL", 2, lln="70"),
    case(T.HYPOGLYCEMIA, "40", "mg/dL", 2, lln="70"),
    case(T.HYPOGLYCEMIA, "39.9", "mg/dL", 3, lln="70"),
    case(T.HYPOGLYCEMIA, "30", "mg/dL", 3, lln="70"),
    case(T.HYPOGLYCEMIA, "29.9", "mg/dL", 4, lln="70"),
    case(T.HYPOGLYCEMIA, "3.0", "mmol/L", 1, lln="3.9"),
    case(T.HYPOGLYCEMIA, "2.99", "mmol/L", 2, lln="3.9"),
    case(T.HYPOGLYCEMIA, "2.2", "mmol/L", 2, lln="3.9"),
    case(T.HYPOGLYCEMIA, "2.19", "mmol/L", 3, lln="3.9"),
    case(T.HYPOGLYCEMIA, "1.7", "mmol/L", 3, lln="3.9"),
    case(T.HYPOGLYCEMIA, "1.69", "mmol/L", 4, lln="3.9"),
    # Hyperuricemia: >ULN without / with physiologic consequences.
    case(T.HYPERURICEMIA, "7.0", "mg/dL", 0, uln="7.0"),
    case(T.HYPERURICEMIA, "7.1", "mg/dL", 1, uln="7.0", physiologic_consequences=False),
    case(T.HYPERURICEMIA, "7.1", "mg/dL", 3, uln="7.0", physiologic_consequences=True),
    # Acidosis / alkalosis: pH beyond normal but within 7.3 / 7.5 G1; beyond G3.
    case(T.ACIDOSIS, "7.35", "", 0, lln="7.35"),
    case(T.ACIDOSIS, "7.34", "[pH]", 1, lln="7.35"),
    case(T.ACIDOSIS, "7.30", "pH", 1, lln="7.35"),
    case(T.ACIDOSIS, "7.29", "", 3, lln="7.35"),
    case(T.ACIDOSIS, "7.1", "", 3),
    case(T.ALKALOSIS, "7.45", "", 0, uln="7.45"),
    case(T.ALKALOSIS, "7.46", "", 1, uln="7.45"),
    case(T.ALKALOSIS, "7.50", "", 1, uln="7.45"),
    case(T.ALKALOSIS, "7.51", "", 3, uln="7.45"),
]

RENAL = [
    # Chronic kidney disease (eGFR): <LLN–60, 59–30, 29–15, <15 read as half-open intervals.
    case(T.CHRONIC_KIDNEY_DISEASE, "90", "mL/min/1.73m2", 0, lln="90"),
    case(T.CHRONIC_KIDNEY_DISEASE, "89", "mL/min/{1.73_m2}", 1, lln="90"),
    case(T.CHRONIC_KIDNEY_DISEASE, "60", "mL/min/1.73m2", 1, lln="90"),
    case(T.CHRONIC_KIDNEY_DISEASE, "59.9", "mL/min/1.73m2", 2, lln="90"),
    case(T.CHRONIC_KIDNEY_DISEASE, "59.5", "mL/min/1.73m2", 2, lln="90"),
    case(T.CHRONIC_KIDNEY_DISEASE, "30", "mL/min/1.73m2", 2, lln="90"),
    case(T.CHRONIC_KIDNEY_DISEASE, "29.9", "mL/min/1.73m2", 3, lln="90"),
    case(T.CHRONIC_KIDNEY_DISEASE, "15", "mL/min/1.73m2", 3, lln="90"),
    case(T.CHRONIC_KIDNEY_DISEASE, "14.9", "mL/min/1.73m2", 4, lln="90"),
    # Proteinuria by dipstick: 1+ G1; adult 2+ and 3+ G2; adult 4+ G3.
    case(T.PROTEINURIA_DIPSTICK, "0", "+", 0),
    case(T.PROTEINURIA_DIPSTICK, "1", "+", 1),
    case(T.PROTEINURIA_DIPSTICK, "2", "+", 2, adult=True),
    case(T.PROTEINURIA_DIPSTICK, "3", "+", 2, adult=True),
    case(T.PROTEINURIA_DIPSTICK, "4", "+", 3, adult=True),
    case(T.PROTEINURIA_DIPSTICK, "2", "+", None, adult=False),
    # Proteinuria, 24-hour urine: ≥ULN–<1.0; adult 1.0–<3.5; adult ≥3.5 g/24 h.
    case(T.PROTEINURIA_24_HOUR, "0.14", "g/24h", 0, uln="0.15"),
    case(T.PROTEINURIA_24_HOUR, "0.15", "g/24h", 1, uln="0.15"),
    case(T.PROTEINURIA_24_HOUR, "0.99", "g/24h", 1, uln="0.15"),
    case(T.PROTEINURIA_24_HOUR, "1.0", "g/24h", 2, uln="0.15", adult=True),
    case(T.PROTEINURIA_24_HOUR, "3.49", "g/24h", 2, uln="0.15", adult=True),
    case(T.PROTEINURIA_24_HOUR, "3.5", "g/d", 3, uln="0.15", adult=True),
    case(T.PROTEINURIA_24_HOUR, "150", "mg/24h", 1, uln="150"),
    case(T.PROTEINURIA_24_HOUR, "3500", "mg/24h", 3, uln="150", adult=True),
    # Urine output decreased: adult oliguria <80 mL in 8 h (G3), anuria <240 mL in 24 h (G4).
    case(T.URINE_OUTPUT_DECREASED, "79", "mL", 3, collection_hours="8", adult=True),
    case(T.URINE_OUTPUT_DECREASED, "80", "mL", 0, collection_hours="8", adult=True),
    case(T.URINE_OUTPUT_DECREASED, "0.079", "L", 3, collection_hours="8", adult=True),
    case(T.URINE_OUTPUT_DECREASED, "239", "mL", 4, collection_hours="24", adult=True),
    case(T.URINE_OUTPUT_DECREASED, "240", "mL", 0, collection_hours="24", adult=True),
    case(T.URINE_OUTPUT_DECREASED, "50", "mL", None, collection_hours="12", adult=True),
]

VITALS = [
    # Fever: 38.0–39.0 G1; >39.0–40.0 G2; >40.0 for <=24 h G3, >24 h G4 (°F converted exactly).
    case(T.FEVER, "37.9", "Cel", 0),
    case(T.FEVER, "38.0", "Cel", 1),
    case(T.FEVER, "39.0", "°C", 1),
    case(T.FEVER, "39.01", "Cel", 2),
    case(T.FEVER, "40.0", "Cel", 2),
    case(T.FEVER, "40.01", "Cel", 3, hours_above_40_celsius="24"),
    case(T.FEVER, "40.01", "Cel", 4, hours_above_40_celsius="24.5"),
    case(T.FEVER, "100.39", "[degF]", 0),
    case(T.FEVER, "100.4", "[degF]", 1),
    case(T.FEVER, "102.2", "°F", 1),
    case(T.FEVER, "102.25", "°F", 2),
    case(T.FEVER, "104.0", "°F", 2),
    case(T.FEVER, "104.1", "°F", 3, hours_above_40_celsius="2"),
    # Hypothermia: 35 – >32 G2; 32 – >28 G3; <=28 G4 (no G1).
    case(T.HYPOTHERMIA, "35.01", "Cel", 0),
    case(T.HYPOTHERMIA, "35.0", "Cel", 2),
    case(T.HYPOTHERMIA, "32.01", "Cel", 2),
    case(T.HYPOTHERMIA, "32.0", "Cel", 3),
    case(T.HYPOTHERMIA, "28.01", "Cel", 3),
    case(T.HYPOTHERMIA, "28.0", "Cel", 4),
    case(T.HYPOTHERMIA, "95.1", "[degF]", 0),
    case(T.HYPOTHERMIA, "95.0", "[degF]", 2),
    case(T.HYPOTHERMIA, "89.6", "[degF]", 3),
    case(T.HYPOTHERMIA, "82.4", "[degF]", 4),
    # Hypoxia from saturation: <88% with exercise G2, at rest G3.
    case(T.HYPOXIA_OXYGEN_SATURATION, "88", "%", 0, at_rest=True),
    case(T.HYPOXIA_OXYGEN_SATURATION, "88", "%", 0),
    case(T.HYPOXIA_OXYGEN_SATURATION, "87.9", "%", 3, at_rest=True),
    case(T.HYPOXIA_OXYGEN_SATURATION, "87.9", "%", 2, at_rest=False),
    case(T.HYPOXIA_OXYGEN_SATURATION, "0.87", "1", 3, at_rest=True),
    # Hypoxia from PaO2: <=55 mm Hg G3 (kPa x 7.50062).
    case(T.HYPOXIA_ARTERIAL_PO2, "56", "mmHg", 0),
    case(T.HYPOXIA_ARTERIAL_PO2, "55", "mm[Hg]", 3),
    case(T.HYPOXIA_ARTERIAL_PO2, "7.4", "kPa", 0),
    case(T.HYPOXIA_ARTERIAL_PO2, "7.3", "kPa", 3),
    # Hypertension (adult): SBP 120–139 G1; 140–159 G2 if previously WNL; >=160 G3. Between two
    # printed integer bands a value belongs to the more severe one.
    case(T.HYPERTENSION_SYSTOLIC, "119", "mmHg", 0, adult=True),
    case(T.HYPERTENSION_SYSTOLIC, "120", "mmHg", 1, adult=True),
    case(T.HYPERTENSION_SYSTOLIC, "139", "mmHg", 1, adult=True),
    case(T.HYPERTENSION_SYSTOLIC, "139.5", "mmHg", 2, adult=True, previously_normal=True),
    case(T.HYPERTENSION_SYSTOLIC, "140", "mmHg", 2, adult=True, previously_normal=True),
    case(T.HYPERTENSION_SYSTOLIC, "159", "mmHg", 2, adult=True, previously_normal=True),
    case(T.HYPERTENSION_SYSTOLIC, "159.5", "mmHg", 3, adult=True),
    case(T.HYPERTENSION_SYSTOLIC, "160", "mmHg", 3, adult=True),
    case(T.HYPERTENSION_SYSTOLIC, "150", "mmHg", None, adult=True, previously_normal=False),
    case(T.HYPERTENSION_SYSTOLIC, "165", "mmHg", None, adult=False),
    case(T.HYPERTENSION_DIASTOLIC, "79", "mmHg", 0, adult=True),
    case(T.HYPERTENSION_DIASTOLIC, "80", "mmHg", 1, adult=True),
    case(T.HYPERTENSION_DIASTOLIC, "89", "mmHg", 1, adult=True),
    case(T.HYPERTENSION_DIASTOLIC, "90", "mmHg", 2, adult=True, previously_normal=True),
    case(T.HYPERTENSION_DIASTOLIC, "99", "mmHg", 2, adult=True, previously_normal=True),
    case(T.HYPERTENSION_DIASTOLIC, "100", "mmHg", 3, adult=True),
    # QTc: 450–480 G1; 481–500 G2; >=501 or >60 ms over baseline G3.
    case(T.QTC_INTERVAL_PROLONGED, "449", "ms", 0, baseline="420"),
    case(T.QTC_INTERVAL_PROLONGED, "450", "ms", 1, baseline="420"),
    case(T.QTC_INTERVAL_PROLONGED, "480", "ms", 1, baseline="420"),
    case(T.QTC_INTERVAL_PROLONGED, "480.5", "ms", 2, baseline="440"),
    case(T.QTC_INTERVAL_PROLONGED, "481", "ms", 2, baseline="440"),
    case(T.QTC_INTERVAL_PROLONGED, "500", "ms", 2, baseline="440"),
    case(T.QTC_INTERVAL_PROLONGED, "500.5", "ms", 3, baseline="450"),
    case(T.QTC_INTERVAL_PROLONGED, "501", "ms", 3, baseline="450"),
    case(T.QTC_INTERVAL_PROLONGED, "440", "ms", 0, baseline="380"),
    case(T.QTC_INTERVAL_PROLONGED, "441", "ms", 3, baseline="380"),
    case(T.QTC_INTERVAL_PROLONGED, "0.501", "s", 3, baseline="0.45"),
    # Ejection fraction: EF 50–40 or 10–19 point drop G2; 39–20 or >=20 drop G3; <20 G4.
    case(T.EJECTION_FRACTION_DECREASED, "51", "%", 0, baseline="55"),
    case(T.EJECTION_FRACTION_DECREASED, "50.5", "%", 0, baseline="55"),
    case(T.EJECTION_FRACTION_DECREASED, "50", "%", 2, baseline="55"),
    case(T.EJECTION_FRACTION_DECREASED, "51", "%", 0, baseline="60.9"),
    case(T.EJECTION_FRACTION_DECREASED, "51", "%", 2, baseline="61"),
    case(T.EJECTION_FRACTION_DECREASED, "40", "%", 2, baseline="45"),
    case(T.EJECTION_FRACTION_DECREASED, "39.9", "%", 3, baseline="45"),
    case(T.EJECTION_FRACTION_DECREASED, "51", "%", 3, baseline="71"),
    case(T.EJECTION_FRACTION_DECREASED, "20", "%", 3, baseline="25"),
    case(T.EJECTION_FRACTION_DECREASED, "19.9", "%", 4, baseline="25"),
    case(T.EJECTION_FRACTION_DECREASED, "0.55", "1", 2, baseline="0.65"),
    # Weight loss / gain: 5–<10%, 10–<20%, >=20% from baseline.
    case(T.WEIGHT_LOSS, "76.1", "kg", 0, baseline="80"),
    case(T.WEIGHT_LOSS, "76", "kg", 1, baseline="80"),
    case(T.WEIGHT_LOSS, "72.1", "kg", 1, baseline="80"),
    case(T.WEIGHT_LOSS, "72", "kg", 2, baseline="80"),
    case(T.WEIGHT_LOSS, "64.1", "kg", 2, baseline="80"),
    case(T.WEIGHT_LOSS, "64", "kg", 3, baseline="80"),
    case(T.WEIGHT_LOSS, "167.2", "lb", 1, baseline="176"),
    case(T.WEIGHT_GAIN, "83.9", "kg", 0, baseline="80"),
    case(T.WEIGHT_GAIN, "84", "kg", 1, baseline="80"),
    case(T.WEIGHT_GAIN, "87.9", "kg", 1, baseline="80"),
    case(T.WEIGHT_GAIN, "88", "kg", 2, baseline="80"),
    case(T.WEIGHT_GAIN, "95.9", "kg", 2, baseline="80"),
    case(T.WEIGHT_GAIN, "96", "kg", 3, baseline="80"),
]

PULMONARY_AND_IMMUNE = [
    # FEV1 % predicted: 99–70 G1; 60–69 G2; 50–59 G3; <=49 G4 (contiguous integer bands; the
    # printed 99 is inclusive at the edge facing normal values).
    case(T.FORCED_EXPIRATORY_VOLUME_DECREASED, "100", "%", 0),
    case(T.FORCED_EXPIRATORY_VOLUME_DECREASED, "99.9", "%", 0),
    case(T.FORCED_EXPIRATORY_VOLUME_DECREASED, "99", "%", 1),
    case(T.FORCED_EXPIRATORY_VOLUME_DECREASED, "70", "%", 1),
    case(T.FORCED_EXPIRATORY_VOLUME_DECREASED, "69.9", "%", 2),
    case(T.FORCED_EXPIRATORY_VOLUME_DECREASED, "60", "%", 2),
    case(T.FORCED_EXPIRATORY_VOLUME_DECREASED, "59.9", "%", 3),
    case(T.FORCED_EXPIRATORY_VOLUME_DECREASED, "50", "%", 3),
    case(T.FORCED_EXPIRATORY_VOLUME_DECREASED, "49.9", "%", 4),
    case(T.FORCED_EXPIRATORY_VOLUME_DECREASED, "0.65", "1", 2),
    # DLCO below LLN (no baseline): 3–5 units G1, 6–8 G2, >8 G3; symptoms raise 3–5 to G2 and
    # >5 to G3. 5.9 units lies between the printed bands 3–5 and 6–8: the more severe one, as the
    # follow-up arm '>5 - 8' reads it.
    *(
        case(
            T.CARBON_MONOXIDE_DIFFUSING_CAPACITY_DECREASED,
            value,
            "mL/min/mmHg",
            grade,
            lln="25",
            pulmonary_symptoms=symptoms,
        )
        for value, symptoms, grade in (
            ("22.1", False, 0),
            ("22", False, 1),
            ("20", False, 1),
            ("19.9", False, 2),
            ("19.1", False, 2),
            ("19", False, 2),
            ("17", False, 2),
            ("16.9", False, 3),
            ("22", True, 2),
            ("20", True, 2),
            ("19.9", True, 3),
        )
    ),
    # DLCO below baseline (follow-up): 3–5 G1, >5–8 G2, >8 G3; >5 with symptoms G3.
    *(
        case(
            T.CARBON_MONOXIDE_DIFFUSING_CAPACITY_DECREASED,
            value,
            "mL/min/mmHg",
            grade,
            lln="20",
            baseline="30",
            pulmonary_symptoms=symptoms,
        )
        for value, symptoms, grade in (
            ("27.1", False, 0),
            ("27", False, 1),
            ("25", False, 1),
            ("24.9", False, 2),
            ("22", False, 2),
            ("21.9", False, 3),
            ("25", True, 2),
            ("24.9", True, 3),
        )
    ),
    case(
        T.CARBON_MONOXIDE_DIFFUSING_CAPACITY_DECREASED,
        "7",
        "mmol/min/kPa",
        0,
        lln="8",
        pulmonary_symptoms=False,
    ),
    case(
        T.CARBON_MONOXIDE_DIFFUSING_CAPACITY_DECREASED,
        "6.99",
        "mmol/min/kPa",
        1,
        lln="8",
        pulmonary_symptoms=False,
    ),
    # Vital capacity % predicted: 90–75 G1; <75–50 G2; <50 G3.
    case(T.VITAL_CAPACITY_ABNORMAL, "91", "%", 0),
    case(T.VITAL_CAPACITY_ABNORMAL, "90.9", "%", 0),
    case(T.VITAL_CAPACITY_ABNORMAL, "90", "%", 1),
    case(T.VITAL_CAPACITY_ABNORMAL, "75", "%", 1),
    case(T.VITAL_CAPACITY_ABNORMAL, "74.9", "%", 2),
    case(T.VITAL_CAPACITY_ABNORMAL, "50", "%", 2),
    case(T.VITAL_CAPACITY_ABNORMAL, "49.9", "%", 3),
    # Cytokine release syndrome: hypoxia responding to <40% O2 G2; requiring >=40% G3.
    case(T.CYTOKINE_RELEASE_SYNDROME_OXYGEN, "21", "%", 0),
    case(T.CYTOKINE_RELEASE_SYNDROME_OXYGEN, "22", "%", 2),
    case(T.CYTOKINE_RELEASE_SYNDROME_OXYGEN, "39.9", "%", 2),
    case(T.CYTOKINE_RELEASE_SYNDROME_OXYGEN, "40", "%", 3),
    case(T.CYTOKINE_RELEASE_SYNDROME_OXYGEN, "0.4", "1", 3),
]

ALL_CASES = [
    *HEMATOLOGY,
    *LIVER,
    *KIDNEY_AND_ENZYMES,
    *COAGULATION,
    *ELECTROLYTES,
    *RENAL,
    *VITALS,
    *PULMONARY_AND_IMMUNE,
]


@pytest.mark.parametrize(("term", "value", "unit", "inputs", "expected"), ALL_CASES)
def test_the_value_gets_the_grade_nci_defines(
    term: LabTerm, value: Decimal, unit: str, inputs: dict[str, Any], expected: int | None
) -> None:
    result = grade_lab(term, value, unit, **inputs)
    assert result.grade == expected, result.reason
    if expected is None:
        assert result.reason.startswith("not gradable")


def test_every_measurement_is_exercised_by_the_table() -> None:
    exercised = {param.values[0] for param in ALL_CASES}
    assert exercised == set(LabTerm)


# --- missing inputs and assumptions ------------------------------------------------------------


def test_a_missing_lln_that_could_decide_leaves_the_grade_open() -> None:
    result = grade_lab(T.ANEMIA, D("11.0"), "g/dL")
    assert result.grade is None
    assert result.possible_grades == (0, 1)
    assert result.missing == ("lln",)
    assert "LLN" in result.reason


def test_an_lln_that_cannot_change_the_grade_is_not_needed() -> None:
    assert grade_lab(T.ANEMIA, D("7.5"), "g/dL").grade == 3


def test_unknown_symptoms_take_the_worst_case_and_say_so() -> None:
    result = grade_lab(T.HYPONATREMIA, D("127"), "mmol/L", lln=D("135"))
    assert result.grade == 3
    assert result.assumptions == (
        "assumed symptomatic (signs or symptoms present): not stated, worst case taken",
    )
    assert "assumed symptomatic" in result.reason


def test_no_assumption_is_named_when_the_unknown_fact_does_not_matter() -> None:
    result = grade_lab(T.HYPONATREMIA, D("122"), "mmol/L", lln=D("135"))
    assert result.grade == 3
    assert result.assumptions == ()


@pytest.mark.parametrize(
    ("term", "value", "uln", "expected"),
    [
        (T.HYPOKALEMIA, "3.2", None, 2),
        (T.LIPASE_INCREASED, "150", "60", 3),
        (T.SERUM_AMYLASE_INCREASED, "400", "60", 4),
        (T.HYPERURICEMIA, "8.0", "7.0", 3),
    ],
)
def test_admirals_worst_case_terms_assume_the_higher_grade(
    term: LabTerm, value: str, uln: str | None, expected: int
) -> None:
    lln = D("3.5") if term is T.HYPOKALEMIA else None
    result = grade_lab(
        term,
        D(value),
        "mg/dL" if term is T.HYPERURICEMIA else "mmol/L" if term is T.HYPOKALEMIA else "U/L",
        lln=lln,
        uln=None if uln is None else D(uln),
    )
    assert result.grade == expected
    assert len(result.assumptions) == 1
    assert "worst case" in result.assumptions[0]


def test_inr_with_unknown_anticoagulation_takes_the_worse_reading() -> None:
    result = grade_lab(T.INR_INCREASED, D("1.1"), "", baseline=D("1.0"))
    assert result.grade == 1
    assert result.assumptions == ("assumed on anticoagulation: not stated, worst case taken",)


def test_saturation_without_rest_or_exercise_is_grade_2_or_3_and_asks() -> None:
    result = grade_lab(T.HYPOXIA_OXYGEN_SATURATION, D("85"), "%")
    assert result.grade is None
    assert result.possible_grades == (2, 3)
    assert result.missing == ("at_rest",)


def test_fever_above_40_without_its_duration_is_grade_3_or_4() -> None:
    result = grade_lab(T.FEVER, D("40.5"), "Cel")
    assert result.grade is None
    assert result.possible_grades == (3, 4)
    assert result.missing == ("hours_above_40_celsius",)


def test_the_baseline_branch_needs_the_baseline_or_whether_it_was_normal() -> None:
    result = grade_lab(T.ALANINE_AMINOTRANSFERASE_INCREASED, D("100"), "U/L", uln=D("40"))
    assert result.grade is None
    assert set(result.missing) == {"baseline", "baseline_normal"}


def test_a_derived_baseline_judgement_is_named() -> None:
    result = grade_lab(
        T.ALANINE_AMINOTRANSFERASE_INCREASED, D("100"), "U/L", uln=D("40"), baseline=D("60")
    )
    assert result.grade == 1
    assert result.assumptions == ("baseline 60 U/L taken as abnormal (> ULN 40)",)
    assert result.matched == "1.5 - 3.0 x baseline if baseline was abnormal"


def test_creatinine_without_a_baseline_gets_its_uln_grade_and_what_a_baseline_could_give() -> None:
    result = grade_lab(T.CREATININE_INCREASED, D("2.0"), "mg/dL", uln=D("1.0"))
    assert result.grade == 2
    assert result.possible_grades == (2, 3)
    assert result.missing == ("baseline",)
    assert "a baseline value could make it grade 3" in result.reason


def test_troponin_needs_the_assays_infarction_level() -> None:
    result = grade_lab(T.CARDIAC_TROPONIN_I_INCREASED, D("40"), "ng/L", uln=D("26"))
    assert result.possible_grades == (1, 3)
    assert result.missing == ("mi_level",)


def test_adult_criteria_are_assumed_and_named_when_adulthood_is_not_stated() -> None:
    result = grade_lab(T.PROTEINURIA_DIPSTICK, D("3"), "+")
    assert result.grade == 2
    assert result.assumptions == ("assumed adult criteria apply (not stated)",)


def test_hypertension_in_a_previously_abnormal_subject_is_left_to_the_treatment_criteria() -> None:
    result = grade_lab(
        T.HYPERTENSION_SYSTOLIC,
        D("150"),
        "mmHg",
        context=LabContext(adult=True, previously_normal=False),
    )
    assert result.grade is None
    assert "previously within normal limits" in result.reason


def test_bicarbonate_with_an_intervention_points_to_acidosis() -> None:
    result = grade_lab(
        T.BLOOD_BICARBONATE_DECREASED,
        D("18"),
        "mmol/L",
        lln=D("22"),
        context=LabContext(intervention_initiated=True),
    )
    assert result.grade is None
    assert "Acidosis" in result.reason


def test_a_collection_period_nci_does_not_define_cannot_be_graded() -> None:
    result = grade_lab(
        T.URINE_OUTPUT_DECREASED, D("50"), "mL", context=LabContext(collection_hours=D(12))
    )
    assert result.grade is None
    assert "8-hour" in result.reason


# --- what a number cannot decide ---------------------------------------------------------------


def test_clinical_wording_above_the_grade_is_listed_never_assigned() -> None:
    result = grade_lab(T.ANEMIA, D("9.0"), "g/dL", lln=D("12"))
    assert result.grade == 2
    assert [(c.grade, c.text) for c in result.clinical_criteria] == [
        (3, "transfusion indicated"),
        (4, "Life-threatening consequences; urgent intervention indicated"),
        (5, "Death"),
    ]


def test_a_clinical_only_grade_is_never_reached_from_a_number() -> None:
    assert grade_lab(T.ANEMIA, D("3.0"), "g/dL", lln=D("12")).grade == 3
    assert grade_lab(T.LEUKOCYTOSIS, D("900000"), "/mm3").grade == 3


# --- bad input ---------------------------------------------------------------------------------


def test_a_unit_that_cannot_measure_the_analyte_is_refused_naming_the_units() -> None:
    with pytest.raises(LabInputError) as refused:
        grade_lab(T.HYPOALBUMINEMIA, D("3.0"), "mmol/L", lln=D("3.5"))
    assert refused.value.field == "unit"
    assert "g/dL" in str(refused.value)
    assert "'mmol/L'" in str(refused.value)


def test_an_unrecognised_unit_is_refused() -> None:
    with pytest.raises(LabInputError) as refused:
        grade_lab(T.NEUTROPHIL_COUNT_DECREASED, D("1.2"), "G/L", lln=D("2"))
    assert refused.value.field == "unit"
    assert "'G/L'" in str(refused.value)


def test_percent_predicted_dlco_is_refused() -> None:
    with pytest.raises(LabInputError) as refused:
        grade_lab(T.CARBON_MONOXIDE_DIFFUSING_CAPACITY_DECREASED, D("60"), "%", lln=D("75"))
    assert refused.value.field == "unit"


def test_a_missing_value_is_refused_not_a_type_error() -> None:
    with pytest.raises(LabInputError) as refused:
        grade_lab(T.HYPOKALEMIA, unit="mmol/L")
    assert refused.value.field == "value"
    with pytest.raises(LabInputError) as no_unit:
        grade_lab(T.HYPOKALEMIA, D("3.1"))
    assert no_unit.value.field == "unit"


@pytest.mark.parametrize(
    ("value", "lln", "uln", "field", "problem"),
    [
        ("-1", None, None, "value", "negative"),
        ("NaN", None, None, "value", "not finite"),
        ("Infinity", None, None, "value", "not finite"),
        ("3", "-1", None, "lln", "negative"),
        ("5", "6", "4", "lln", "LLN 6 is above ULN 4"),
    ],
)
def test_impossible_inputs_are_refused_naming_the_input(
    value: str, lln: str | None, uln: str | None, field: str, problem: str
) -> None:
    with pytest.raises(LabInputError) as refused:
        grade_lab(
            T.HYPOKALEMIA,
            D(value),
            "mmol/L",
            lln=None if lln is None else D(lln),
            uln=None if uln is None else D(uln),
        )
    assert refused.value.field == field
    assert problem in str(refused.value)


def test_a_float_is_refused_rather_than_graded_with_binary_rounding() -> None:
    value: Any = 3.1  # a binary float, as an untyped caller may pass
    with pytest.raises(LabInputError) as refused:
        grade_lab(T.HYPOKALEMIA, value, "mmol/L")
    assert refused.value.field == "value"
    assert "Decimal('3.1')" in str(refused.value)


def test_a_baseline_of_zero_cannot_give_a_percentage() -> None:
    with pytest.raises(LabInputError) as refused:
        grade_lab(T.WEIGHT_LOSS, D("60"), "kg", baseline=D("0"))
    assert refused.value.field == "baseline"


def test_a_dipstick_reads_whole_plus_signs() -> None:
    for reading in ("1.5", "5"):
        with pytest.raises(LabInputError) as refused:
            grade_lab(T.PROTEINURIA_DIPSTICK, D(reading), "+")
        assert refused.value.field == "value"
