"""The case dossier: one self-contained HTML file that a real browser renders.

Chromium renders it headless (Debian's ``chromium``; ``.ci/run`` installs it): the
screenshot is a non-empty PNG and the page holds the member's figures. Without
Chromium the rendering test is skipped and says why; the file checks still run.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from tests.browser import chromium, needs_chromium
from tests.conftest import Clerk
from tests.test_clerk_explain import B, _story


@pytest.fixture
def dossier(sqlite_clerk: Clerk, tmp_path: Path) -> Path:
    _story(sqlite_clerk)
    out = tmp_path / "dossier.html"
    result = sqlite_clerk(
        "dossier", B, "--as-of", "2024-12-31", "--known-on", "2024-05-15T12:00:00", "--out", str(out)
    )
    assert result.output == f"wrote the dossier of {B} to {out}\n"
    return out


def test_the_dossier_is_one_self_contained_file_readable_by_its_owner_only(dossier: Path) -> None:
    page = dossier.read_text(encoding="utf-8")
    assert stat.S_IMODE(os.stat(dossier).st_mode) == 0o600
    assert "<script" not in page and "<link" not in page and "@import" not in page and "url(" not in page
    assert re.findall(r"https?://[^\"' ]+", page) == ["http://www.w3.org/2000/svg"]  # the SVG namespace only
    assert "<svg" in page and "<style>" in page


def test_the_dossier_holds_the_status_explanation_timeline_and_what_was_known(dossier: Path) -> None:
    page = dossier.read_text(encoding="utf-8")
    assert f"Member {B} on 31 December 2024" in page
    assert "Total owed: € 58,00 = premiums € 58,00 (2023) + fines € 0,00." in page
    assert "It is annulled: the appeal was upheld on 1 June 2024 (R-FINE-2); nothing is due." in page
    # What the fund knew on 15 May 2024 (the fine still open, € 20,00 not yet reversed) and now.
    assert (
        '<tr class="changed"><td>Fine 2023</td><td>€ 250,00, open</td><td>€ 250,00, annulled</td></tr>'
    ) in page
    assert (
        "<td>Premium 2023</td><td>€ 58,00 claimed, € 20,00 paid (incomplete, € 38,00 still due)</td>"
        "<td>€ 58,00 claimed, € 0,00 paid (unpaid, € 58,00 still due)</td>"
    ) in page
    for lane in ("Residence", "Obligation", "Affiliation", "Premiums", "Payments", "Letters", "Fines",
                 "Appeals", "Corrections"):  # fmt: skip
        assert f'class="lane">{lane}</text>' in page


def test_an_existing_dossier_is_replaced_only_with_force(sqlite_clerk: Clerk, dossier: Path) -> None:
    result = sqlite_clerk("dossier", B, "--out", str(dossier), expect=2)
    assert "already exists: add --force" in result.output
    sqlite_clerk("dossier", B, "--out", str(dossier), "--force")
    assert [p.name for p in dossier.parent.iterdir() if p.name.endswith(".part")] == []


@needs_chromium
def test_the_dossier_renders_in_headless_chromium(dossier: Path, tmp_path: Path) -> None:
    shot = tmp_path / "dossier.png"
    chromium(dossier.as_uri(), f"--screenshot={shot}", "--window-size=1200,2000", timeout=120)
    dom = chromium(dossier.as_uri(), "--dump-dom", timeout=120).stdout
    png = shot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
    assert f"Member {B} on 31 December 2024" in dom
    assert "€ 58,00" in dom and "R-FINE-2" in dom and "<svg" in dom


def test_a_dossier_known_on_before_the_registration_says_the_fund_did_not_know(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    _story(sqlite_clerk)
    out = tmp_path / "early.html"
    sqlite_clerk("dossier", B, "--as-of", "2024-12-31", "--known-on", "2021-12-31", "--out", str(out))
    assert "On 31 December 2021 at 23:59 UTC the fund did not know this person yet." in out.read_text()


def test_a_dossier_of_an_unknown_person_is_refused_and_writes_nothing(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    out = tmp_path / "nobody.html"
    missing = sqlite_clerk("dossier", B, "--out", str(out), expect=2)
    assert "no store at this path" in missing.output and not out.exists()
    sqlite_clerk("init")  # a store that exists, without this person
    result = sqlite_clerk("dossier", B, "--out", str(out), expect=1)
    assert "R-OBL-1" in result.output and not out.exists()


def test_a_dossier_can_go_to_standard_output(sqlite_clerk: Clerk) -> None:
    _story(sqlite_clerk)
    page = sqlite_clerk("dossier", B, "--as-of", "2024-12-31", "--out", "-").output
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    assert not Path("-").exists()


def test_r_prem_9_a_claims_correction_is_a_mark_of_its_own_in_the_dossier(sqlite_clerk: Clerk) -> None:
    _story(sqlite_clerk)
    sqlite_clerk("allowance", B, "--entitled", "--on", "2023-01-01", today="2025-03-01")
    page = sqlite_clerk("dossier", B, "--as-of", "2024-12-31", "--out", "-", today="2025-03-01").output
    corrections = re.findall(r"<title>(The claim of the \d{4} premium adjusted[^<]*)</title>", page)
    assert corrections == [
        "The claim of the 2024 premium adjusted to € 31,00 (reduced rate): increased allowance granted "
        "from 2023-01-01 (R-PREM-9) on 2023-01-01"
    ]


def test_a_retraction_recorded_after_known_on_is_listed_with_what_changed(sqlite_clerk: Clerk) -> None:
    # The dossier of 30 June 2024 as known on 28 February 2025, against now: the payment of
    # € 54,00 of 1 May 2024 was retracted on 1 March 2025, a day after the dossier's date. A
    # retraction applies at every as-of date, so it is what the fund learned since.
    _story(sqlite_clerk)
    history = json.loads(sqlite_clerk("history", B, "--json").output)
    payment = next(e for e in history if e.get("bank_ref") == "BANK-2024-000456")
    sqlite_clerk(
        "retract", B, "--event", payment["id"], "--reason", "other member", now="2025-03-01T09:00:00"
    )
    page = sqlite_clerk(
        "dossier", B, "--as-of", "2024-06-30", "--known-on", "2025-02-28", "--out", "-"
    ).output
    known = page[page.index("5. What the fund knew then") : page.index("6. Events")]
    assert "<td>Total owed</td><td>€ 58,00</td><td>€ 112,00</td>" in known
    assert "Nothing about this date was recorded after that moment." not in known
    assert "Retracted “Payment of € 54,00 received (bank ref BANK-2024-000456)”" in known
