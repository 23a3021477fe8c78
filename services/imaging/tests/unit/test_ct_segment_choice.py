"""Lung and lesion found by their coded meaning or label name; short, actionable refusals.

Segmentations are built with highdicom on a 3-slice copy of pydicom's CT_small (PixelSpacing
0.661468 mm, 5 mm apart), with each segment's SNOMED CT / DICOM code chosen by the test.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import highdicom as hd
import nibabel
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from imaging.ct.dicom_seg import SegmentChoice, dicom_seg_volumes
from imaging.ct.errors import (
    MAX_MESSAGE_CHARS,
    UnknownLabelError,
    UnreadableFileError,
    listed,
    shortened,
)
from imaging.ct.label_map import LabelMapLabels, label_map_volumes
from imaging.ct.label_names import LabelNames, from_sidecar, roles_of
from imaging.ct.segment_codes import Role, concept_of_code, concept_of_name, concepts

nib: Any = nibabel  # nibabel's constructors carry no type annotations

VOXEL_ML = 0.661468 * 0.661468 * 5.0 / 1000
LUNG = codes.SCT.Lung
LESION = codes.SCT.Lesion
GROUND_GLASS = codes.DCM.GroundGlassOpacity
LIVER = Code("10200004", "SCT", "Liver")
RIGHT_LUNG = Code("3341006", "SCT", "Right lung")
LEFT_LUNG = Code("44029006", "SCT", "Left lung")
TRACHEA = Code("44567001", "SCT", "Trachea")


def ct_series(slices: int = 3) -> list[Dataset]:
    path = get_testdata_file("CT_small.dcm", download=False)
    assert path is not None
    template = pydicom.dcmread(path)
    series_uid = generate_uid()
    images = []
    for index in range(slices):
        image = copy.deepcopy(template)
        image.SOPInstanceUID = generate_uid()
        image.file_meta.MediaStorageSOPInstanceUID = image.SOPInstanceUID
        image.SeriesInstanceUID = series_uid
        x, y, z = (float(value) for value in template.ImagePositionPatient)
        image.ImagePositionPatient = [x, y, z + 5.0 * index]
        images.append(image)
    return images


def coded_seg(segments: Sequence[tuple[str, Code]], masks: np.ndarray) -> bytes:
    """A BINARY SEG whose segment n (1-based) has the label and coded type given."""
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=label,
            segmented_property_category=codes.SCT.Tissue,
            segmented_property_type=code,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for number, (label, code) in enumerate(segments, start=1)
    ]
    seg = hd.seg.Segmentation(
        source_images=ct_series(),
        pixel_array=masks,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=generate_uid(),
        series_number=100,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="Doseline",
        manufacturer_model_name="segment choice tests",
        software_versions="1",
        device_serial_number="1",
    )
    buffer = io.BytesIO()
    seg.save_as(buffer)
    return buffer.getvalue()


def masks_of(*voxels_per_segment: int) -> np.ndarray:
    """One mask per segment: a block of that many voxels on the middle slice, 100 to a row."""
    masks = np.zeros((3, 128, 128, len(voxels_per_segment)), dtype=bool)
    for index, voxels in enumerate(voxels_per_segment):
        rows, rest = divmod(voxels, 100)
        masks[1, :rows, :100, index] = True
        masks[1, rows, :rest, index] = True
    # Every slice carries a frame, so the frame positions give the 5 mm spacing.
    masks[0, 127, 127, 0] = masks[2, 127, 127, 0] = True
    return masks


def test_a_lung_segment_and_no_lesion_segment_measures_a_lesion_volume_of_zero() -> None:
    result = dicom_seg_volumes(coded_seg([("Lungs", LUNG)], masks_of(1000)))
    assert result.lesion_ml == 0.0
    assert result.lung_ml == pytest.approx(1002 * VOXEL_ML)
    assert result.voxels is not None
    assert any("no lesion segment" in note for note in result.voxels.notes)
    assert [(s.role, s.number, s.label, s.code, s.chosen_by) for s in result.voxels.segments] == [
        ("lung", 1, "Lungs", "SCT 39607008 Lung", "coded meaning")
    ]


def test_segments_are_found_by_coded_meaning_whatever_their_labels_say() -> None:
    seg = coded_seg(
        [
            ("R", RIGHT_LUNG),
            ("GGO", GROUND_GLASS),
            ("windpipe", TRACHEA),
            ("L", LEFT_LUNG),
            ("nodule 1", LESION),
        ],
        masks_of(1000, 300, 50, 900, 20),
    )
    result = dicom_seg_volumes(seg)
    assert result.voxels is not None
    used = {(s.role, s.number) for s in result.voxels.segments}
    assert used == {("lung", 1), ("lung", 4), ("lesion", 2), ("lesion", 5)}
    # The masks overlap on the middle slice: the union is counted, the trachea is not.
    assert result.voxels.counts.lung_mask_voxels == 1000 + 2
    assert result.voxels.counts.lesion_mask_voxels == 300


def test_explicit_numbers_override_one_role_and_the_codes_decide_the_other() -> None:
    seg = coded_seg([("Liver", LIVER), ("Lesion", LESION)], masks_of(1000, 100))
    result = dicom_seg_volumes(seg, SegmentChoice(lung=frozenset({1})))
    assert result.voxels is not None
    assert [(s.role, s.number, s.chosen_by) for s in result.voxels.segments] == [
        ("lung", 1, "request"),
        ("lesion", 2, "coded meaning"),
    ]
    assert result.lesion_ml == pytest.approx(100 * VOXEL_ML)


def test_a_segmentation_without_a_lung_segment_is_refused_naming_its_segments() -> None:
    seg = coded_seg([("first segment", LIVER), ("Lesion", LESION)], masks_of(10, 10))
    with pytest.raises(UnknownLabelError) as refused:
        dicom_seg_volumes(seg)
    message = str(refused.value)
    assert "1 'first segment' (Liver)" in message
    assert "lung_labels" in message


def test_a_refusal_listing_many_segments_stays_short() -> None:
    segments = [(f"organ {number}", LIVER) for number in range(1, 38)]
    seg = coded_seg(segments, masks_of(*([5] * 37)))
    with pytest.raises(UnknownLabelError) as refused:
        dicom_seg_volumes(seg)
    message = str(refused.value)
    assert len(message) <= MAX_MESSAGE_CHARS
    assert "and 31 more (37 in all)" in message


@pytest.mark.parametrize(
    ("scheme", "code", "role"),
    [
        ("SCT", "39607008", Role.LUNG),  # Lung
        ("SRT", "T-28000", Role.LUNG),  # Lung, SNOMED RT as dcmqi writes it
        ("SCT", "31094006", Role.LUNG),  # Lobe of lung
        ("SCT", "3341006", Role.LUNG),  # Right lung
        ("SCT", "44029006", Role.LUNG),  # Left lung
        ("SCT", "72481006", Role.LUNG),  # Middle lobe of right lung
        ("SCT", "108369006", Role.LESION),  # Neoplasm
        ("SCT", "52988006", Role.LESION),  # Lesion
        ("SCT", "4147007", Role.LESION),  # Mass
        ("SCT", "27925004", Role.LESION),  # Nodule
        ("DCM", "112120", Role.LESION),  # Ground glass opacity
        ("SCT", "95436008", Role.LESION),  # Lung consolidation
        ("SNM3", "M-03010", Role.LESION),  # Nodule, old designator
    ],
)
def test_the_code_table_gives_each_lung_and_lesion_concept_its_role(
    scheme: str, code: str, role: Role
) -> None:
    concept = concept_of_code(scheme, code)
    assert concept is not None
    assert concept.role is role


@pytest.mark.parametrize(
    ("scheme", "code"), [("SCT", "10200004"), ("SCT", "272673000"), ("SRT", "T-62000")]
)
def test_other_structures_have_no_role(scheme: str, code: str) -> None:
    assert concept_of_code(scheme, code) is None


def test_every_concept_of_the_table_has_a_meaning_and_a_role() -> None:
    table = concepts()
    assert len(table) >= 20
    assert all(concept.meaning and concept.role in Role for concept in table)


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("lung_upper_lobe_left", Role.LUNG),  # TotalSegmentator
        ("Lung-Middle-Lobe right", Role.LUNG),
        ("right lung", Role.LUNG),
        ("lung_nodules", Role.LESION),  # TotalSegmentator's lung_nodules task
        ("Ground Glass Opacity", Role.LESION),
        ("cancer", None),  # Decathlon Task06_Lung calls its lesion "cancer": not guessed
        ("lung_trachea_bronchia", None),
    ],
)
def test_label_names_map_to_roles(name: str, role: Role | None) -> None:
    concept = concept_of_name(name)
    assert (None if concept is None else concept.role) is role


def label_map_file(tmp_path: Path, data: np.ndarray, extension: bytes | None = None) -> Path:
    image = nib.Nifti1Image(data, np.diag([2.0, 2.0, 3.0, 1.0]))
    image.header.set_xyzt_units("mm")
    if extension is not None:
        image.header.extensions.append(nib.nifti1.Nifti1Extension(0, extension))
    path = tmp_path / "labels.nii.gz"
    nib.save(image, path)
    return path


def caret_table(names: dict[int, str]) -> bytes:
    labels = "".join(
        f'<Label Key="{key}" Red="0" Green="1" Blue="0" Alpha="1"><![CDATA[{name}]]></Label>\n'
        for key, name in names.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?> <CaretExtension> <VolumeInformation Index="0">'
        f"<LabelTable>\n{labels}</LabelTable></VolumeInformation></CaretExtension>"
    ).encode()


def test_a_label_map_naming_its_labels_in_its_header_needs_no_label_numbers(
    tmp_path: Path,
) -> None:
    data = np.zeros((10, 10, 4), dtype=np.uint8)
    data[:5, :, :] = 10  # lung_upper_lobe_left
    data[5:, :, :2] = 14  # lung_lower_lobe_right
    data[5:, :, 2] = 5  # liver
    extension = caret_table(
        {1: "spleen", 5: "liver", 10: "lung_upper_lobe_left", 14: "lung_lower_lobe_right"}
    )
    result = label_map_volumes(label_map_file(tmp_path, data, extension))
    assert result.lung_ml == pytest.approx((200 + 100) * 12 / 1000)
    assert result.lesion_ml == 0.0
    assert result.voxels is not None
    assert [(s.number, s.label, s.chosen_by) for s in result.voxels.segments] == [
        (10, "lung_upper_lobe_left", "label name"),
        (14, "lung_lower_lobe_right", "label name"),
    ]


def test_a_label_map_that_names_nothing_asks_for_the_label_numbers(tmp_path: Path) -> None:
    with pytest.raises(UnknownLabelError, match="lung_labels and lesion_labels"):
        label_map_volumes(label_map_file(tmp_path, np.ones((4, 4, 2), dtype=np.uint8)))


def test_a_ct_sent_as_a_label_map_is_refused_as_an_image_in_one_line(tmp_path: Path) -> None:
    ct = np.arange(-1024, 818, dtype=np.int16).reshape(1, 1842, 1)
    with pytest.raises(UnknownLabelError) as refused:
        label_map_volumes(
            label_map_file(tmp_path, ct),
            LabelMapLabels(lung=frozenset({1}), lesion=frozenset({2})),
        )
    message = str(refused.value)
    assert message.startswith("this looks like a CT image, not a label map: 1,842 distinct values")
    assert len(message) <= MAX_MESSAGE_CHARS


@pytest.mark.parametrize(
    ("sidecar", "lung", "lesion"),
    [
        ({"labels": {"background": 0, "lung": 1, "nodule": 2}}, {1}, {2}),  # nnU-Net v2
        ({"labels": {"0": "background", "1": "right lung", "2": "mass"}}, {1}, {2}),  # Decathlon
        (
            {
                "segmentAttributes": [
                    [
                        {
                            "labelID": 1,
                            "SegmentDescription": "Right lung",
                            "SegmentedPropertyTypeCodeSequence": {
                                "CodeValue": "39607008",
                                "CodingSchemeDesignator": "SCT",
                                "CodeMeaning": "Lung",
                            },
                        },
                        {
                            "labelID": 2,
                            "SegmentLabel": "thing",
                            "SegmentedPropertyTypeCodeSequence": {
                                "CodeValue": "112120",
                                "CodingSchemeDesignator": "DCM",
                                "CodeMeaning": "Ground glass opacity",
                            },
                        },
                    ]
                ]
            },
            {1},
            {2},
        ),  # dcmqi metadata: the codes decide, not the names
    ],
)
def test_sidecars_name_the_labels(
    sidecar: dict[str, Any], lung: set[int], lesion: set[int]
) -> None:
    roles = roles_of(from_sidecar(json.dumps(sidecar).encode(), "labels.json"))
    assert (roles.lung, roles.lesion) == (lung, lesion)


def test_a_label_map_and_its_sidecar_give_the_volumes(tmp_path: Path) -> None:
    data = np.zeros((10, 10, 4), dtype=np.uint8)
    data[:, :, :3] = 1
    data[0, 0, 0] = 2
    names = from_sidecar(b'{"labels": {"background": 0, "lung": 1, "nodule": 2}}', "dataset.json")
    result = label_map_volumes(label_map_file(tmp_path, data), sidecar=names)
    assert result.lung_ml == pytest.approx(300 * 12 / 1000)
    assert result.lesion_ml == pytest.approx(12 / 1000)


def test_names_without_a_lung_are_refused_with_what_they_name() -> None:
    names = LabelNames(names={1: "liver", 2: "spleen"}, source="the sidecar dataset.json")
    with pytest.raises(UnknownLabelError, match="1 'liver', 2 'spleen'"):
        roles_of(names)


def test_long_lists_are_summarised_and_long_messages_cut() -> None:
    assert listed(["a", "b"]) == "a, b"
    assert listed([str(n) for n in range(37)], limit=3) == "0, 1, 2, … and 34 more (37 in all)"
    assert len(shortened("x" * 2000)) == MAX_MESSAGE_CHARS
    assert shortened("short") == "short"


def test_a_gzipped_sidecar_is_not_json() -> None:
    with pytest.raises(UnreadableFileError, match="not JSON"):
        from_sidecar(gzip.compress(b"{}"), "labels.json")
