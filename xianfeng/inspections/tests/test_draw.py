"""The draw: reproducible from its published inputs, ranked by SHA-256, conflicts of interest respected."""

import hashlib

import pytest

from xianfeng.inspections import draw

FRAME = sorted([[f"V{i:03d}", "village_community"] for i in range(40)] + [[f"E{i:02d}", "enterprise"] for i in range(6)]
               + [["H01", "hospital"], ["H02", "hospital"]])
QUOTAS = {"village_community": 15, "enterprise": 2, "hospital": 1}
INSPECTORS = [["11", ["V001", "V002", "E01"]], ["12", []], ["13", ["H01"]], ["14", []]]


def test_same_inputs_give_the_same_draw_whatever_the_frame_order():
    a = draw.run_draw(frame=FRAME, quotas=QUOTAS, seed="2026-09-12 体彩 07 13 22", inspectors=INSPECTORS)
    b = draw.run_draw(frame=list(reversed(FRAME)), quotas=QUOTAS, seed="2026-09-12 体彩 07 13 22",
                      inspectors=list(reversed(INSPECTORS)))
    assert a.as_dict() == b.as_dict()
    assert {k: len(v) for k, v in a.selected.items()} == QUOTAS


def test_units_are_ranked_by_sha256_of_seed_and_code():
    result = draw.run_draw(frame=FRAME, quotas={"hospital": 1}, seed="s", inspectors=[])
    digests = {c: hashlib.sha256(f"s|{c}".encode()).hexdigest() for c in ("H01", "H02")}
    assert result.selected["hospital"] == [min(digests, key=digests.get)]


def test_another_seed_gives_another_draw():
    a = draw.run_draw(frame=FRAME, quotas=QUOTAS, seed="a", inspectors=INSPECTORS)
    b = draw.run_draw(frame=FRAME, quotas=QUOTAS, seed="b", inspectors=INSPECTORS)
    assert a.selected != b.selected


def test_no_inspector_is_assigned_a_unit_he_is_tied_to_and_work_is_shared():
    for seed in ("1", "2", "3", "4", "5"):
        result = draw.run_draw(frame=FRAME, quotas=QUOTAS, seed=seed, inspectors=INSPECTORS)
        conflicts = dict(INSPECTORS)
        for code, inspector in result.assignments.items():
            assert code not in conflicts[inspector]
        loads = [list(result.assignments.values()).count(i) for i, _ in INSPECTORS]
        assert max(loads) - min(loads) <= 1


def test_a_unit_every_inspector_is_tied_to_is_passed_over_and_listed():
    everyone = [["1", ["H01"]], ["2", ["H01"]]]
    result = draw.run_draw(frame=FRAME, quotas={"hospital": 2 - 1}, seed="x", inspectors=everyone)
    assert result.selected["hospital"] == ["H02"]
    ranked_first = min(("H01", "H02"), key=lambda c: draw.rank_key("x", c))
    assert result.passed_over == (["H01"] if ranked_first == "H01" else [])


def test_quota_larger_than_its_stratum_is_a_clear_error():
    with pytest.raises(draw.DrawError, match="医院需抽取3个，但名录中只有2个"):
        draw.run_draw(frame=FRAME, quotas={"hospital": 3}, seed="x", inspectors=[])


def test_published_record_verifies_and_altered_inputs_name_the_hash_that_differs():
    result = draw.run_draw(frame=FRAME, quotas=QUOTAS, seed="seed", inspectors=INSPECTORS)
    record = draw.published_record(frame=FRAME, quotas=QUOTAS, seed="seed", inspectors=INSPECTORS, result=result)
    assert draw.verify_record(record) == []
    altered = {**record, "inputs": {**record["inputs"], "frame": FRAME[:-1]}}
    problems = draw.verify_record(altered)
    assert problems[0].startswith("frame hash differs")
    altered = {**record, "inputs": {**record["inputs"], "seed": "seeds"}}
    assert draw.verify_record(altered)[0].startswith("seed hash differs")
    forged = {**record, "result": {**record["result"], "assignments": {}}}
    assert draw.verify_record(forged) == ["result differs: the published units or assignments are not what the "
                                          "inputs give"]


def test_an_empty_seed_is_refused():
    with pytest.raises(draw.DrawError):
        draw.run_draw(frame=FRAME, quotas=QUOTAS, seed=" ", inspectors=[])
