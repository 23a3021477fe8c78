"""Define-XML 2.1: the metadata document describing every dataset of a study package.

Built with `odmlib`'s Define-XML 2.1 model (imported only when a document is written) from the
same `Domain` metadata the datasets are written from: one ItemGroupDef per dataset (class,
structure, keys, its XPT file as def:leaf), one ItemDef per variable (type and the length the
files use), a CodeList per CT codelist a variable names (the values the data holds, with their
NCI codes from the committed codelists, doseline.sdtm.controlled_terminology; a value outside
an extensible codelist is marked as a sponsor-extended value), and an origin from each
variable's `source`:

    "derived: <rule>"   Derived, with a MethodDef stating the rule
    "protocol: <where>" Protocol (trial design values taken from the protocol document)
    "assigned: <what>"  Assigned (the sponsor's study identifiers, sequence numbers)
    anything else       Collected by the investigator, the source field named in the comment

A variable of a domain merged from two services may have an origin of each kind its sources
name (Define-XML 2.1 allows several def:Origin). The document's creation time is the data
cut, so the same data gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Any

from doseline.sdtm import DataCut, Dataset, Study, Variable
from doseline.sdtm.columns import Column, columns
from doseline.sdtm.controlled_terminology import Codelist, codelist, ct_version
from doseline.sdtm.dataset_json import (
    METADATA_VERSION_OID,
    ORIGINATOR,
    item_group_oid,
    item_oid,
    timestamp,
)
from doseline.sdtm.merge import ALSO
from doseline.sdtm.xpt import file_name

SDTMIG_VERSION = "3.4"
_IG = "STD.SDTMIG.3.4"
_CT = "STD.CT.SDTM"
_DATA_TYPES = {
    "string": "text",
    "integer": "integer",
    "float": "float",
    "date": "date",
    "datetime": "datetime",
}
_CLASSES = {
    "Special-Purpose": "SPECIAL PURPOSE",
    "Interventions": "INTERVENTIONS",
    "Events": "EVENTS",
    "Findings": "FINDINGS",
    "Trial Design": "TRIAL DESIGN",
    "Relationship": "RELATIONSHIP",
}


def _origin(source: str) -> tuple[str, str]:
    for prefix, kind in (
        ("derived:", "Derived"),
        ("protocol:", "Protocol"),
        ("assigned:", "Assigned"),
    ):
        if source.startswith(prefix):
            return kind, source.removeprefix(prefix).strip()
    return "Collected", source


def origins_of(variable: Variable) -> list[tuple[str, str]]:
    """The Define-XML origin type of each source of a variable (one, or one per service when
    services' datasets of a domain were merged, doseline.sdtm.merge) and what it says beyond
    it."""
    return [_origin(source) for source in variable.source.split(ALSO)]


def _text(define: Any, text: str) -> Any:
    return define.Description(TranslatedText=[define.TranslatedText(_content=text, lang="en")])


def _codelist_oid(code: str, variable: str) -> str:
    return f"CL.{code}.{variable}"


def define_xml(datasets: Sequence[Dataset], study: Study, cut: DataCut) -> bytes:
    """The Define-XML 2.1 document of `datasets` (UTF-8 bytes, validated by the published XSD)."""
    import odmlib.define_2_1.model as define  # noqa: PLC0415 (heavy: only when written)

    ordered = sorted(datasets, key=lambda dataset: dataset.domain.name)
    item_groups = []
    item_defs = []
    methods = []
    comments = []
    codelists: dict[str, tuple[Codelist, str, set[str]]] = {}
    for dataset in ordered:
        domain = dataset.domain
        written = columns(dataset)
        refs = []
        for number, column in enumerate(written, start=1):
            variable = column.variable
            oid = item_oid(domain.name, variable.name)
            ref: dict[str, Any] = {
                "ItemOID": oid,
                "OrderNumber": number,
                "Mandatory": "Yes" if variable.core == "Req" else "No",
                "Role": variable.role,
            }
            if column.key_sequence is not None:
                ref["KeySequence"] = column.key_sequence
            item: dict[str, Any] = {"Origin": []}
            found = origins_of(variable)
            if derived := [detail for kind, detail in found if kind == "Derived"]:
                method = f"MT.{domain.name}.{variable.name}"
                ref["MethodOID"] = method
                methods.append(
                    define.MethodDef(
                        OID=method,
                        Name=f"Algorithm for {domain.name}.{variable.name}",
                        Type="Computation",
                        Description=_text(define, "; ".join(derived)),
                    )
                )
            if collected := [detail for kind, detail in found if kind == "Collected"]:
                comment = f"COM.{domain.name}.{variable.name}"
                item["CommentOID"] = comment
                comments.append(
                    define.CommentDef(
                        OID=comment, Description=_text(define, f"Source: {'; '.join(collected)}")
                    )
                )
            given: set[str] = set()  # one Derived and one Collected origin, the rest each
            for kind, detail in found:
                if kind == "Derived" and kind not in given:
                    item["Origin"].append(define.Origin(Type="Derived"))
                elif kind == "Collected" and kind not in given:
                    item["Origin"].append(define.Origin(Type="Collected", Source="Investigator"))
                elif kind not in ("Derived", "Collected"):
                    item["Origin"].append(
                        define.Origin(Type=kind, Description=_text(define, detail))
                    )
                given.add(kind)
            if variable.codelist is not None:
                values = {str(r[variable.name]) for r in dataset.records if r.get(variable.name)}
                known = codelist(variable.codelist)
                known.check_values(values, f"{domain.name}.{variable.name}")
                if not values:
                    values = set(known.values)  # no data yet: the codelist's terms
                if values:
                    oid_list = _codelist_oid(variable.codelist, f"{domain.name}.{variable.name}")
                    codelists[oid_list] = (known, _DATA_TYPES[variable.data_type], values)
                    item["CodeListRef"] = define.CodeListRef(CodeListOID=oid_list)
            refs.append(define.ItemRef(**ref))
            item_defs.append(_item_def(define, domain.name, column, item))
        leaf = f"LF.{domain.name}"
        item_groups.append(
            define.ItemGroupDef(
                OID=item_group_oid(domain.name),
                Name=domain.name,
                Repeating="No" if domain.name == "DM" else "Yes",
                IsReferenceData="Yes" if domain.observation_class == "Trial Design" else "No",
                SASDatasetName=domain.name,
                Domain=domain.name,
                Purpose="Tabulation",
                Structure=domain.structure,
                ArchiveLocationID=leaf,
                StandardOID=_IG,
                Description=_text(define, domain.label),
                ItemRef=refs,
                Class=define.Class(Name=_CLASSES[domain.observation_class]),
                leaf=define.leaf(
                    ID=leaf,
                    href=file_name(dataset),
                    title=define.title(_content=file_name(dataset)),
                ),
            )
        )
    mdv = define.MetaDataVersion(
        OID=METADATA_VERSION_OID,
        Name=f"{study.study_id} SDTM, protocol version {study.protocol_version}",
        Description=f"SDTM datasets of {study.study_id} at the data cut {timestamp(cut)}",
        DefineVersion="2.1.0",
        Standards=define.Standards(
            Standard=[
                define.Standard(
                    OID=_IG, Name="SDTMIG", Type="IG", Version=SDTMIG_VERSION, Status="Final"
                ),
                define.Standard(
                    OID=_CT,
                    Name="CDISC/NCI",
                    Type="CT",
                    PublishingSet="SDTM",
                    Version=ct_version().removeprefix("SDTM CT "),
                    Status="Final",
                ),
            ]
        ),
        ItemGroupDef=item_groups,
        ItemDef=item_defs,
        CodeList=[_codelist(define, oid, *codelists[oid]) for oid in sorted(codelists)],
        MethodDef=methods,
        CommentDef=comments,
    )
    odm = define.ODM(
        FileOID=f"DEF.{study.study_id}.{timestamp(cut)}",
        FileType="Snapshot",
        CreationDateTime=timestamp(cut),
        AsOfDateTime=timestamp(cut),
        ODMVersion="1.3.2",
        Originator=ORIGINATOR,
        SourceSystem=ORIGINATOR,
        Context="Submission",
        Study=define.Study(
            OID=study.study_id,
            GlobalVariables=define.GlobalVariables(
                StudyName=define.StudyName(_content=study.study_id),
                StudyDescription=define.StudyDescription(_content=study.title),
                ProtocolName=define.ProtocolName(_content=study.study_id),
            ),
            MetaDataVersion=mdv,
        ),
    )
    return (odm.to_xml_string(xml_declaration=True) + "\n").encode("utf-8")


def _item_def(define: Any, domain: str, column: Column, extra: dict[str, Any]) -> Any:
    variable = column.variable
    described: dict[str, Any] = {
        **extra,
        "OID": item_oid(domain, variable.name),
        "Name": variable.name,
        "DataType": _DATA_TYPES[variable.data_type],
        "SASFieldName": variable.name,
        "Description": _text(define, variable.label),
    }
    if variable.data_type in ("string", "integer", "float"):
        described["Length"] = column.length
    if variable.data_type == "float":
        described["SignificantDigits"] = column.significant_digits or 0
    return define.ItemDef(**described)


def _codelist(define: Any, oid: str, known: Codelist, data_type: str, values: set[str]) -> Any:
    items = []
    for number, value in enumerate(sorted(values), start=1):
        term = known.code_of(value)
        item: dict[str, Any] = {
            "CodedValue": value,
            "OrderNumber": number,
        }
        if term is None:
            item["ExtendedValue"] = "Yes"
        else:
            item["Alias"] = [define.Alias(Context="nci:ExtCodeID", Name=term)]
        items.append(define.EnumeratedItem(**item))
    return define.CodeList(
        OID=oid,
        Name=known.name,
        DataType=data_type,
        EnumeratedItem=items,
        StandardOID=_CT,
        Alias=[define.Alias(Context="nci:ExtCodeID", Name=known.code)],
    )


def check_define_xml(path: str | PathLike[str]) -> None:
    """Validate a written define.xml against the Define-XML 2.1 XSD that odmlib ships.

    Raises odmlib's validation error naming the first element the schema refuses.
    """
    from odmlib.odm_parser import ODMSchemaValidator  # noqa: PLC0415 (heavy: only when checked)

    # odmlib is untyped: its validator is used through Any, in this one place.
    validator: Any = ODMSchemaValidator
    validator(standard="define", version="2.1").validate_file(str(path))
