"""Label names of a label map as tools write them, and which of them are lung and lesion.

Three places a label map's names come from, all written by the tools themselves:
- the NIfTI header's label table: TotalSegmentator (and Connectome Workbench) store an XML
  "CaretExtension" whose LabelTable gives each value a name (<Label Key="10">lung_upper_lobe_left
  </Label>);
- a JSON sidecar beside the label map: nnU-Net's dataset.json ("labels": {"lung": 1}), the
  Medical Segmentation Decathlon's ("labels": {"1": "cancer"}), or dcmqi's segmentation metadata
  ("segmentAttributes": [[{"labelID": 1, "SegmentedPropertyTypeCodeSequence": {...}}]]), whose
  coded meanings are used before the names.
A name is lung or lesion through segment_codes; every other named value is another structure,
declared and counted as neither; value 0 is background.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from imaging.ct.errors import UnknownLabelError, UnreadableFileError, listed
from imaging.ct.segment_codes import Concept, Role, concept_of_code, concept_of_name
from imaging.ct.volumetry import SegmentUsed

# A label table entry: <Label Key="10" ...><![CDATA[lung_upper_lobe_left]]></Label>.
_CARET_LABEL: Final = re.compile(
    r'<Label\s[^>]*?Key="(-?\d+)"[^>]*>\s*(?:<!\[CDATA\[(.*?)\]\]>|([^<]*?))\s*</Label>', re.S
)
_MAX_SIDECAR_BYTES: Final = 4 * 1024 * 1024


@dataclass(frozen=True)
class LabelNames:
    """Label value → name, and the coded meaning where the source codes one."""

    names: Mapping[int, str]
    source: str
    codes: Mapping[int, tuple[str, str, str]] = field(default_factory=dict)
    """Label value → (scheme, code, meaning), from a dcmqi sidecar."""


@dataclass(frozen=True)
class LabelRoles:
    """The label values counted as lung, as lesion, and as other structures, and why."""

    lung: frozenset[int]
    lesion: frozenset[int]
    other: frozenset[int]
    used: tuple[SegmentUsed, ...] = ()


def from_header_extensions(extensions: Any) -> LabelNames | None:
    """The label table of a NIfTI header's XML extension, if it has one."""
    for extension in extensions or ():
        content = extension.get_content()
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
        if "<LabelTable" not in text:
            continue
        names = {
            int(key): (cdata if cdata else plain).strip()
            for key, cdata, plain in _CARET_LABEL.findall(text)
        }
        if names:
            return LabelNames(names=names, source="the NIfTI header's label table")
    return None


def from_sidecar(content: bytes, name: str) -> LabelNames:
    """The label names (and codes) of a JSON sidecar: nnU-Net, Decathlon or dcmqi metadata."""
    if len(content) > _MAX_SIDECAR_BYTES:
        raise UnreadableFileError(f"the sidecar {name} is larger than {_MAX_SIDECAR_BYTES} bytes")
    try:
        document = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UnreadableFileError(f"the sidecar {name} is not JSON: {error}") from None
    source = f"the sidecar {name}"
    if isinstance(document, dict) and isinstance(document.get("segmentAttributes"), list):
        return _dcmqi(document["segmentAttributes"], source)
    labels = document.get("labels") if isinstance(document, dict) else None
    if not isinstance(labels, dict) or not labels:
        raise UnreadableFileError(
            f"the sidecar {name} names no labels: expected a 'labels' object (nnU-Net "
            "dataset.json or Decathlon) or dcmqi 'segmentAttributes'"
        )
    names: dict[int, str] = {}
    for key, value in labels.items():
        if isinstance(value, int) and not isinstance(value, bool):
            names[value] = str(key)  # nnU-Net v2: name → value
        elif isinstance(value, str) and re.fullmatch(r"-?\d+", str(key)):
            names[int(key)] = value  # Decathlon: "value" → name
        # nnU-Net region labels (lists of values) name unions, not single values: skipped.
    if not names:
        raise UnreadableFileError(f"the sidecar {name} gives no label a single integer value")
    return LabelNames(names=names, source=source)


def _dcmqi(groups: list[Any], source: str) -> LabelNames:
    names: dict[int, str] = {}
    codes: dict[int, tuple[str, str, str]] = {}
    for group in groups:
        for item in group if isinstance(group, list) else [group]:
            if not isinstance(item, dict) or not isinstance(item.get("labelID"), int):
                continue
            value = int(item["labelID"])
            names[value] = str(item.get("SegmentLabel") or item.get("SegmentDescription") or "")
            concept = item.get("SegmentedPropertyTypeCodeSequence")
            if isinstance(concept, dict):
                codes[value] = (
                    str(concept.get("CodingSchemeDesignator") or ""),
                    str(concept.get("CodeValue") or ""),
                    str(concept.get("CodeMeaning") or ""),
                )
    if not names:
        raise UnreadableFileError(f"{source} has segmentAttributes but no labelID")
    return LabelNames(names=names, source=source, codes=codes)


def roles_of(label_names: LabelNames) -> LabelRoles:
    """Lung and lesion values by coded meaning, else by name; every other named value is other."""
    lung: list[int] = []
    lesion: list[int] = []
    other: list[int] = []
    used: list[SegmentUsed] = []
    for value in sorted(label_names.names):
        if value == 0:
            continue
        name = label_names.names[value]
        code = label_names.codes.get(value)
        concept: Concept | None = None
        chosen_by = "label name"
        if code is not None:
            concept, chosen_by = concept_of_code(code[0], code[1]), "coded meaning"
        if concept is None:
            concept, chosen_by = concept_of_name(name), "label name"
        if concept is None:
            other.append(value)
            continue
        (lung if concept.role is Role.LUNG else lesion).append(value)
        shown_code = None if code is None else " ".join(part for part in code if part)
        used.append(SegmentUsed(concept.role.value, value, name, shown_code, chosen_by))
    if not lung:
        shown = [f"{value} {label_names.names[value]!r}" for value in sorted(label_names.names)]
        raise UnknownLabelError(
            f"no label is named as lung in {label_names.source}, which names "
            + listed(shown)
            + "; give the label values with lung_labels and lesion_labels"
        )
    used.sort(key=lambda item: item.role != Role.LUNG.value)
    return LabelRoles(
        lung=frozenset(lung), lesion=frozenset(lesion), other=frozenset(other), used=tuple(used)
    )
