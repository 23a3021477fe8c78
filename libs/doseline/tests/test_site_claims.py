"""The `sites` claim: which sites a token's holder acts for, sponsor-wide roles, site events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from typer.testing import CliRunner

from doseline.auth import ALL_SITES, Role, TokenVerifier, principal_from_claims
from doseline.commands import app
from doseline.contracts.registry import CONTRACTS
from doseline.errors import Unauthorized
from doseline.events import SubjectEvent
from doseline.settings import ServiceSettings
from doseline.tokens import DEVELOPMENT_JWT_SECRET


def claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "nurse-wang", "roles": ["coordinator"], **extra}


def test_a_site_token_sees_its_sites_only() -> None:
    principal = principal_from_claims(claims(sites=["WCH"]))
    assert principal.can_access_site("WCH")
    assert not principal.can_access_site("PUMCH")
    assert not principal.all_sites


def test_a_star_claim_as_a_list_or_a_string_is_every_site() -> None:
    for value in (["*"], "*"):
        principal = principal_from_claims(claims(sites=value))
        assert principal.all_sites
        assert principal.can_access_site("PUMCH")


def test_a_token_without_the_claim_sees_no_site() -> None:
    principal = principal_from_claims(claims())
    assert principal.sites == frozenset()
    assert not principal.can_access_site("WCH")


def test_a_sites_claim_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(Unauthorized, match="sites claim"):
        principal_from_claims(claims(sites="WCH,PUMCH"))


def test_sponsor_wide_roles_see_every_site_whatever_the_claim() -> None:
    monitor = {"sub": "cra", "roles": ["monitor"], "sites": ["WCH"]}
    assert principal_from_claims(monitor, sponsor_wide_roles=[Role.MONITOR]).all_sites
    assert not principal_from_claims(monitor, sponsor_wide_roles=[]).all_sites


def _token(roles: list[str], sites: list[str]) -> str:
    now = datetime.now(UTC)
    return jwt.encode(
        {
            "sub": "p",
            "roles": roles,
            "sites": sites,
            "iss": "doseline-dev",
            "aud": "doseline",
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=5)).timestamp()),
        },
        DEVELOPMENT_JWT_SECRET,
        algorithm="HS256",
    )


def test_the_sponsor_wide_roles_are_a_setting_of_each_service() -> None:
    token = _token(["safety_physician"], ["WCH"])
    by_default = TokenVerifier(ServiceSettings())
    assert by_default.verify(token).all_sites
    claim_only = TokenVerifier(ServiceSettings(sponsor_wide_roles=()))
    assert not claim_only.verify(token).all_sites
    with pytest.raises(ValueError, match="unknown roles"):
        TokenVerifier(ServiceSettings(sponsor_wide_roles=("sponsor",)))


def test_token_mint_takes_sites_repeated_or_comma_separated() -> None:
    runner = CliRunner()
    minted = runner.invoke(
        app, ["token", "mint", "--role", "coordinator", "--sites", "WCH,PUMCH", "--sites", "WCH"]
    )
    assert minted.exit_code == 0, minted.output
    token = jwt.decode(minted.output.strip(), options={"verify_signature": False})
    assert token["sites"] == ["PUMCH", "WCH"]
    default = runner.invoke(app, ["token", "mint", "--role", "monitor"])
    assert jwt.decode(default.output.strip(), options={"verify_signature": False})["sites"] == [
        ALL_SITES
    ]
    refused = runner.invoke(app, ["token", "mint", "--role", "coordinator", "--sites", "no site"])
    assert refused.exit_code != 0
    assert "not a site id" in refused.output


def test_every_event_about_a_subject_names_its_site() -> None:
    about_a_subject = [c for c in CONTRACTS.values() if "subject_id" in c.model_fields]
    assert about_a_subject
    for contract in about_a_subject:
        assert issubclass(contract, SubjectEvent), contract.event_type
        assert contract.model_fields["site_id"].is_required(), contract.event_type
