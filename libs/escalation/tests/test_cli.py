"""The command line, `python -m escalation` and `doseline-escalation`: JSON on stdout."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from escalation.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, json.loads(captured.out) if captured.out else None, captured.err


def test_recommend_prints_the_decision(capsys: pytest.CaptureFixture[str]) -> None:
    status, result, _ = run(
        ["recommend", "--num-doses", "5", "--variant", "esc", "1NNN 2NTN"], capsys
    )
    assert status == 0
    assert {k: result[k] for k in ("continue", "next_dose", "mtd", "reason")} == {
        "continue": True,
        "next_dose": 2,
        "mtd": None,
        "reason": "1 DLT in 3 at level 2: treat 3 more at level 2",
    }
    assert result["tallies"][1] == {"dose": 2, "patients": 3, "dlts": 1}


def test_parse_error_exits_with_status_2_and_the_message_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, result, err = run(
        ["recommend", "--num-doses", "5", "--variant", "esc", "12NTT Nigel Farage"], capsys
    )
    assert (status, result) == (2, None)
    assert "position 6" in err


def test_variant_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(["recommend", "--num-doses", "5", "1NNN"], capsys)
    assert status == 2
    assert "variant is required" in err


def test_lax_mode_reports_its_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    status, result, _ = run(
        ["recommend", "--num-doses", "5", "--variant", "esc", "--lax", "1NNN 1NNT"], capsys
    )
    assert (status, result["continue"], result["next_dose"]) == (0, True, 2)
    assert result["warnings"][0].startswith("lax mode")


def test_batch_answers_every_line_and_reports_bad_lines_without_stopping(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [
        {"outcomes": "1NNN 2NTT", "num_doses": 5, "variant": "esc", "strict": True},
        {"outcomes": "1NNN 2NTT", "num_doses": 5, "variant": "deesc"},
        "not json",
        {"outcomes": "1NNN 1NNN", "num_doses": 5, "variant": "esc"},
        {"outcomes": "1NNN 1NNN", "num_doses": 5, "variant": "esc", "strict": False},
        {"outcomes": "1NNN", "num_doses": 5},
        {"outcomes": "1NNN", "num_doses": 5, "variant": "esc", "colour": "red"},
        {"outcomes": "1NNN 2NNN", "num_doses": 2, "variant": "expand-top", "max_patients": 15},
    ]
    stdin = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin + "\n"))
    status = main(["recommend", "--batch"])
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1
    assert len(results) == len(lines)
    assert (results[0]["continue"], results[0]["mtd"]) == (False, 1)
    assert (results[1]["continue"], results[1]["next_dose"]) == (True, 1)
    assert results[2]["line"] == 3
    assert "not a JSON object" in results[2]["error"]
    assert "patient 4" in results[3]["error"]
    assert (results[4]["next_dose"], len(results[4]["warnings"])) == (2, 2)
    assert results[5]["error"] == "variant is required"
    assert "colour" in results[6]["error"]
    assert (results[7]["continue"], results[7]["next_dose"]) == (True, 2)


def test_batch_of_good_lines_exits_with_status_0(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"outcomes": ""}\n{"outcomes": "1TTT"}\n'))
    status = main(["recommend", "--batch", "--num-doses", "3", "--variant", "deesc"])
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 0
    assert [(r["continue"], r["next_dose"], r["mtd"]) for r in results] == [
        (True, 1, None),
        (False, None, None),
    ]


def test_paths_prints_the_tree(capsys: pytest.CaptureFixture[str]) -> None:
    status, tree, _ = run(
        ["paths", "--num-doses", "2", "--variant", "expand-top", "--cohorts", "2", "1NNN"], capsys
    )
    assert status == 0
    assert tree["outcomes"] == "1NNN"
    assert [child["outcomes"] for child in tree["children"]] == [
        "1NNN 2NNN",
        "1NNN 2TNN",
        "1NNN 2TTN",
        "1NNN 2TTT",
    ]
    assert tree["children"][0]["children"][0]["decision"]["mtd"] == 2


def test_oc_prints_exact_operating_characteristics(capsys: pytest.CaptureFixture[str]) -> None:
    status, oc, _ = run(["oc", "--variant", "esc", "--probs", "0.05,0.15,0.30,0.45"], capsys)
    assert status == 0
    assert oc["design"]["num_doses"] == 4
    assert round(oc["prob_no_mtd"], 4) == 0.0266
    assert [round(d["prob_mtd"], 4) for d in oc["doses"]] == [0.1813, 0.4006, 0.2998, 0.0917]
    assert round(oc["expected_total_patients"], 3) == 12.355
    assert round(oc["expected_total_dlts"], 3) == 2.523


def test_simulate_is_reproducible_and_reports_standard_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["simulate", "--variant", "deesc", "--probs", "0.05,0.15,0.30,0.45"]
    argv += ["--trials", "2000", "--seed", "11"]
    status, first, _ = run(argv, capsys)
    _, second, _ = run(argv, capsys)
    assert status == 0
    assert first == second
    assert (first["trials"], first["seed"]) == (2000, 11)
    assert 0 < first["standard_errors"]["expected_total_patients"] < 0.2


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["oc", "--variant", "esc", "--probs", "0.1,x"], "--probs must be comma-separated"),
        (["oc", "--variant", "esc", "--probs", "0.1,0.2", "--num-doses", "3"], "2 true DLT"),
        (["oc", "--variant", "esc", "--probs", "0.1,1.2"], "must be in [0, 1]"),
        (
            ["simulate", "--variant", "esc", "--probs", "0.1", "--trials", "1", "--seed", "1"],
            "trials must be",
        ),
        (
            ["recommend", "--num-doses", "2", "--variant", "esc", "--start-dose", "3", ""],
            "start_dose 3",
        ),
    ],
)
def test_bad_input_exits_with_status_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    status, result, err = run(argv, capsys)
    assert (status, result) == (2, None)
    assert fragment in err


def test_python_dash_m_escalation_and_the_installed_script_give_the_same_answer() -> None:
    argv = ["recommend", "--num-doses", "2", "--variant", "expand-top", "1NNN 2NNN"]
    module = subprocess.run(
        [sys.executable, "-m", "escalation", *argv], capture_output=True, text=True, check=True
    )
    script = Path(sys.executable).with_name("doseline-escalation")
    assert script.is_file(), "the doseline-escalation script is not installed in this environment"
    installed = subprocess.run([script, *argv], capture_output=True, text=True, check=True)
    assert module.stdout == installed.stdout
    assert json.loads(module.stdout)["next_dose"] == 2


def test_batch_through_a_real_process_reports_a_strictness_error_per_line() -> None:
    stdin = '{"outcomes": "1NNN 2NTT 1N", "num_doses": 3, "variant": "esc"}\n'
    stdin += '{"outcomes": "1NNN 2NTT 1N", "num_doses": 3, "variant": "deesc"}\n'
    done = subprocess.run(
        [sys.executable, "-m", "escalation", "recommend", "--batch"],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert done.returncode == 1
    assert "stopped" in first["error"]
    assert (second["continue"], second["next_dose"], second["cohort_complete"]) == (True, 1, False)


def test_whole_two_dose_table_through_one_batch_process(cases_2dose: dict[str, Any]) -> None:
    variants = {"ESC": "esc", "DEESC": "deesc", "EXPAND_TOP": "expand-top"}
    requests, expected = [], []
    for name, variant in variants.items():
        for row in cases_2dose[f"derived_2doses_{name}"]:
            requests.append({"outcomes": row["outcomes"], "num_doses": 2, "variant": variant})
            expected.append((row["cont"], None if row["rec"] == "none" else int(row["rec"])))
    done = subprocess.run(
        [sys.executable, "-m", "escalation", "recommend", "--batch"],
        input="".join(json.dumps(request) + "\n" for request in requests),
        capture_output=True,
        text=True,
        check=True,
    )
    results = [json.loads(line) for line in done.stdout.splitlines()]
    got = [(r["continue"], r["next_dose"] if r["continue"] else r["mtd"]) for r in results]
    assert got == expected


BOIN_ARGS = ["--design", "boin", "--target", "0.3", "--num-cohorts", "10"]


def test_recommend_takes_the_design(capsys: pytest.CaptureFixture[str]) -> None:
    status, result, _ = run(["recommend", *BOIN_ARGS, "--num-doses", "5", "1NNN 2NNT"], capsys)
    assert (status, result["continue"], result["next_dose"]) == (0, True, 2)
    assert "lambda_e 0.236" in result["reason"]


def test_oc_of_a_boin_design_reports_its_states(capsys: pytest.CaptureFixture[str]) -> None:
    status, oc, _ = run(
        ["oc", *BOIN_ARGS[:4], "--num-cohorts", "4", "--probs", "0.1,0.3,0.5"], capsys
    )
    assert status == 0
    assert oc["design"]["design"] == "boin"
    assert oc["states"] > 0
    assert abs(oc["prob_no_mtd"] + sum(d["prob_mtd"] for d in oc["doses"]) - 1) < 1e-12
    assert sum(entry["probability"] for entry in oc["sample_size"]) == pytest.approx(1.0)


def test_simulate_and_paths_take_the_design(capsys: pytest.CaptureFixture[str]) -> None:
    crm = ["--design", "crm", "--target", "0.3", "--num-cohorts", "4", "--cohort-size", "3"]
    crm += ["--skeleton", "0.1,0.3,0.5"]
    status, result, _ = run(
        ["simulate", *crm, "--probs", "0.1,0.3,0.5", "--trials", "200", "--seed", "3"], capsys
    )
    assert (status, result["trials"]) == (0, 200)
    status, tree, _ = run(["paths", *crm, "--num-doses", "3", "--cohorts", "1", ""], capsys)
    assert status == 0
    assert [child["outcomes"] for child in tree["children"]] == ["1NNN", "1TNN", "1TTN", "1TTT"]


def test_a_design_file_gives_the_whole_design(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "design.json"
    path.write_text(json.dumps({"design": "i3+3", "num_doses": 4, "target": 0.3, "num_cohorts": 6}))
    status, result, _ = run(["recommend", "--design-file", str(path), "1NNT 1NNT"], capsys)
    assert (status, result["next_dose"]) == (0, 1)
    status, _, err = run(["recommend", "--design-file", str(path), "--num-doses", "3", ""], capsys)
    assert status == 2
    assert "give no other design option" in err


def test_boundaries_print_get_boundary_for_target_0_3(capsys: pytest.CaptureFixture[str]) -> None:
    status, table, _ = run(["boundaries", "--target", "0.3", "--num-cohorts", "4"], capsys)
    assert status == 0
    assert round(table["lambda_e"], 3) == 0.236
    assert round(table["lambda_d"], 3) == 0.359
    assert table["boundary_table"] == [
        {
            "patients": 3,
            "escalate_if_dlts_at_most": 0,
            "deescalate_if_dlts_at_least": 2,
            "eliminate_if_dlts_at_least": 3,
        },
        {
            "patients": 6,
            "escalate_if_dlts_at_most": 1,
            "deescalate_if_dlts_at_least": 3,
            "eliminate_if_dlts_at_least": 4,
        },
        {
            "patients": 9,
            "escalate_if_dlts_at_most": 2,
            "deescalate_if_dlts_at_least": 4,
            "eliminate_if_dlts_at_least": 5,
        },
        {
            "patients": 12,
            "escalate_if_dlts_at_most": 2,
            "deescalate_if_dlts_at_least": 5,
            "eliminate_if_dlts_at_least": 7,
        },
    ]
    assert len(table["full_boundary_table"]) == 12
    assert "stop_boundary_at_level_1" not in table


def test_boundaries_with_the_extra_safe_rule_print_the_stop_boundary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, table, _ = run(
        ["boundaries", "--target", "0.3", "--num-cohorts", "2", "--extra-safe"], capsys
    )
    assert status == 0
    assert table["extra_safe_cutoff"] == pytest.approx(0.9)
    stops = {
        row["patients"]: row["stop_if_dlts_at_least"] for row in table["stop_boundary_at_level_1"]
    }
    # P(rate > 0.3 | 3 of 6) = 0.874 is under 0.9; 4 of 6 gives 0.971.
    assert (stops[2], stops[3], stops[6]) == (None, 2, 4)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (
            ["recommend", "--num-doses", "101", "--variant", "esc", ""],
            "num_doses must be at most 100",
        ),
        (
            ["recommend", "--num-doses", "3", "--variant", "esc", "--cohort-size", "13", ""],
            "cohort_size must be at most 12",
        ),
        (
            ["recommend", *BOIN_ARGS[:4], "--num-cohorts", "101", "--num-doses", "3", ""],
            "num_cohorts must be at most 100",
        ),
        (
            ["paths", "--num-doses", "3", "--variant", "esc", "--cohorts", "101", ""],
            "cohorts must be at most 100",
        ),
        (
            [
                "paths",
                "--num-doses",
                "3",
                "--variant",
                "esc",
                "--cohorts",
                "3",
                "--max-nodes",
                "2000000",
                "",
            ],
            "--max-nodes must be at most 1000000",
        ),
        (
            [
                "simulate",
                "--variant",
                "esc",
                "--probs",
                "0.1",
                "--trials",
                "10000001",
                "--seed",
                "1",
            ],
            "trials must be at most 10000000",
        ),
        (
            ["oc", "--variant", "esc", "--probs", ",".join(["0.1"] * 101)],
            "--probs has more than 100 values",
        ),
        (
            ["recommend", "--num-doses", "3", "--variant", "esc", "1N" * 10_001],
            "more than the 20,000",
        ),
        (
            ["recommend", "--num-doses", "3", "--variant", "esc", "--target", "0.3", ""],
            "--target is not an option of the a+b design",
        ),
        (
            ["boundaries", "--design", "crm", "--target", "0.3", "--num-cohorts", "3"],
            "boundaries are BOIN's",
        ),
    ],
)
def test_inputs_beyond_the_documented_maximums_are_refused(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    status, result, err = run(argv, capsys)
    assert (status, result) == (2, None)
    assert fragment in err


def test_a_pathway_tree_over_its_node_budget_is_refused_with_its_size(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["paths", "--num-doses", "8", "--variant", "deesc", "--cohorts", "16", ""]
    status, _, err = run(argv, capsys)
    assert status == 2
    assert "would have 17,421 nodes, over the budget of 10,000" in err
    status, tree, _ = run([*argv[:-1], "--max-nodes", "1000000", ""], capsys)
    assert status == 0
    assert tree["outcomes"] == ""


@pytest.mark.parametrize("form", [["--probs=-0.1,0.2"], ["--probs", "-0.1,0.2"]])
def test_negative_probabilities_are_read_and_refused_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], form: list[str]
) -> None:
    status, result, err = run(["oc", "--variant", "esc", *form], capsys)
    assert (status, result) == (2, None)
    assert "the DLT probability of level 1 must be in [0, 1], not -0.1" in err


def test_a_value_after_probs_that_starts_with_a_dash_is_read_as_the_value_not_as_a_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, _, err = run(["oc", "--variant", "esc", "--probs", "-x,0.2"], capsys)
    assert status == 2
    assert "--probs must be comma-separated numbers such as 0.05,0.15,0.30, not '-x,0.2'" in err


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["recommend", "--num-doses", "10000000", "--variant", "esc", "1NNN"], "num_doses"),
        (["paths", "--num-doses", "3", "--variant", "esc", "--cohorts", "10000000", ""], "cohorts"),
        (
            ["recommend", *BOIN_ARGS[:4], "--num-cohorts", "10000000", "--num-doses", "3", ""],
            "num_cohorts",
        ),
        (
            ["recommend", "--num-doses", "3", "--variant", "esc", "--cohort-size", "10000000", ""],
            "cohort_size",
        ),
    ],
)
def test_ten_million_levels_cohorts_or_patients_are_refused_at_once(
    capsys: pytest.CaptureFixture[str], argv: list[str], flag: str
) -> None:
    started = time.perf_counter()
    status, result, err = run(argv, capsys)
    assert time.perf_counter() - started < 0.5
    assert (status, result) == (2, None)
    assert f"{flag} must be at most" in err
    assert "10000000" in err


@pytest.mark.parametrize("command", ["recommend", "paths", "oc", "simulate", "boundaries"])
def test_help_names_the_maximums(capsys: pytest.CaptureFixture[str], command: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "Maximums (anything beyond is refused with the limit named): 100 dose levels" in shown
    assert "12 patients per cohort, 100 cohorts" in shown
    assert "--probs=-0.1,0.2" in shown
    assert "number of dose levels (at most 100)" in shown


def test_a_closed_pipe_ends_the_batch_quietly(tmp_path: Path) -> None:
    requests = tmp_path / "requests.jsonl"
    line = json.dumps({"outcomes": "1NNN 2NTN", "num_doses": 5, "variant": "esc"})
    requests.write_text((line + "\n") * 20_000)
    done = subprocess.run(
        [
            "bash",
            "-c",
            "set -o pipefail;"
            f" {sys.executable} -m escalation recommend --batch < {requests} | head -1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stderr == ""
    assert json.loads(done.stdout)["next_dose"] == 2
    assert done.returncode == 141


def test_an_overlong_batch_line_is_refused_and_the_next_is_answered(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = json.dumps({"outcomes": "1N" * 50_000, "num_doses": 3, "variant": "esc"})
    good = json.dumps({"outcomes": "1NNN", "num_doses": 3, "variant": "esc"})
    monkeypatch.setattr(sys, "stdin", io.StringIO(huge + "\n" + good + "\n"))
    status = main(["recommend", "--batch"])
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1
    assert "more than any request" in results[0]["error"]
    assert results[1]["next_dose"] == 2
