"""An import-linter contract type: a package imports nothing but the standard library."""

from __future__ import annotations

import sys
from typing import Any, cast

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class StandardLibraryOnlyContract(Contract):
    """`package` (and every module in it) imports only the standard library, itself and `allowed`.

    Used for `libs/escalation`: the rules that choose a patient's dose must run anywhere (a
    service, a statistician's notebook, a regulator's machine) with nothing installed.
    """

    type_name = "stdlib_only"

    package = fields.StringField()
    allowed = fields.ListField(subfield=fields.StringField(), required=False, default=[])

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        # import-linter sets each option's parsed value on the instance, where its annotations
        # still name the class's field descriptor.
        package = cast(str, self.package)
        allowed = set(cast(list[str], self.allowed))
        offenders: list[dict[str, Any]] = []
        for module in sorted(graph.find_descendants(package) | {package}):
            for imported in sorted(graph.find_modules_directly_imported_by(module)):
                top = imported.split(".")[0]
                if top == package or top in sys.stdlib_module_names or top in allowed:
                    continue
                lines = [
                    detail["line_number"]
                    for detail in graph.get_import_details(importer=module, imported=imported)
                ]
                offenders.append({"module": module, "imported": imported, "lines": lines})
        return ContractCheck(kept=not offenders, metadata={"offenders": offenders})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for offender in check.metadata["offenders"]:
            output.print_error(
                f"{offender['module']} imports {offender['imported']} "
                f"(line {', '.join(map(str, offender['lines']))}), which is not standard library"
            )
