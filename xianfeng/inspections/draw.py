"""The random draw (双随机、一公开), as a pure function of published inputs, so anyone can re-run it.

Inputs (all published before or with the result):
  frame       the frozen unit list: [[code, stratum], …] sorted by code; its SHA-256 is published before the seed
  quotas      {stratum: how many units}
  seed        a text announced before the draw (or a public value: a lottery number, an index's closing price)
  inspectors  [[id, [codes of frame units the inspector may not inspect]], …] — the conflicts of interest (回避)

Algorithm (version 1):
  1. Within each stratum, rank units by SHA-256(seed ‖ "|" ‖ unit code) as a hex string, ascending.
  2. Walk the strata in name order and each stratum's ranking in order; a unit no inspector may inspect is passed
     over (and listed); take units until the quota is met.
  3. Assign each taken unit, in that order, to the eligible inspector with the fewest units so far; ties go to the
     smallest SHA-256(seed ‖ "|" ‖ unit code ‖ "|" ‖ inspector id).
Hashes are of canonical JSON (UTF-8, sorted keys, no spaces). Python's `random` is never used: its sequences are
not promised stable across versions, and a draw must re-run identically years later.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ALGORITHM = "xianfeng-draw-v1"

# Strata of the report: 15 villages (communities), 2 non-public enterprises, 2 social organisations, 1 hospital,
# 1 school. A stratum groups organisation kinds.
STRATA: dict[str, tuple[str, ...]] = {
    "village_community": ("village", "community"),
    "enterprise": ("enterprise",),
    "social": ("social",),
    "hospital": ("hospital",),
    "school": ("school",),
    "department": ("department",),
    "town": ("town", "street"),
}
STRATUM_LABELS = {
    "village_community": "村（社区）", "enterprise": "非公企业", "social": "社会组织", "hospital": "医院",
    "school": "学校", "department": "部门", "town": "镇（街道）",
}
STRATUM_UNITS = {  # how the report counts them: 15个村（社区）、2家非公企业 …
    "village_community": "个村（社区）", "enterprise": "家非公企业", "social": "个社会组织", "hospital": "家医院",
    "school": "所学校", "department": "个部门", "town": "个镇（街道）",
}
DEFAULT_QUOTAS = {"village_community": 15, "enterprise": 2, "social": 2, "hospital": 1, "school": 1}
KIND_TO_STRATUM = {kind: stratum for stratum, kinds in STRATA.items() for kind in kinds}


class DrawError(ValueError):
    """The draw cannot be made as asked (e.g. a quota larger than its stratum). The text is for users."""


def canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sha256_of(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def rank_key(seed: str, *parts: str) -> str:
    return hashlib.sha256("|".join((seed, *parts)).encode("utf-8")).hexdigest()


def _ranked(seed: str, codes: list[str], enough: int) -> list[str]:
    """Codes ordered by rank_key(seed, code); only the first `enough` when that is all that can be needed."""
    prefix = hashlib.sha256(f"{seed}|".encode())

    def key(code: str) -> tuple[str, str]:
        h = prefix.copy()
        h.update(code.encode("utf-8"))
        return (h.hexdigest(), code)

    if enough < len(codes) // 4:
        return heapq.nsmallest(enough, codes, key=key)
    return sorted(codes, key=key)


def check_quotas(frame: Sequence[Sequence[str]], quotas: Mapping[str, int]) -> None:
    """Raise DrawError naming every stratum whose quota is unknown, negative or larger than the stratum."""
    sizes: dict[str, int] = {}
    for _code, stratum in frame:
        sizes[stratum] = sizes.get(stratum, 0) + 1
    problems = []
    for stratum, quota in sorted(quotas.items()):
        label = STRATUM_LABELS.get(stratum, stratum)
        if stratum not in STRATA:
            problems.append(f"未知的抽查类别：{stratum}")
        elif not isinstance(quota, int) or quota < 0:
            problems.append(f"{label}的抽取数须为非负整数")
        elif quota > sizes.get(stratum, 0):
            problems.append(f"{label}需抽取{quota}个，但名录中只有{sizes.get(stratum, 0)}个")
    if problems:
        raise DrawError("；".join(problems))


@dataclass
class DrawResult:
    selected: dict[str, list[str]]  # stratum → unit codes in draw order
    assignments: dict[str, str]  # unit code → inspector id
    passed_over: list[str]  # units no inspector could inspect

    def as_dict(self) -> dict[str, Any]:
        return {"selected": self.selected, "assignments": self.assignments, "passed_over": self.passed_over}


def run_draw(*, frame: Sequence[Sequence[str]], quotas: Mapping[str, int], seed: str,
             inspectors: Sequence[Sequence[Any]]) -> DrawResult:
    """Run the draw on its inputs (see the module docstring). Raises DrawError for impossible quotas or an empty
    seed. O(N log N) over the frame: a 200,000-unit directory takes well under a second."""
    seed = str(seed)
    if not seed.strip():
        raise DrawError("随机种子不能为空")
    check_quotas(frame, quotas)
    conflicts = {str(i): set(codes) for i, codes in inspectors}
    ids = sorted(conflicts)
    by_stratum: dict[str, list[str]] = {}
    for code, stratum in frame:
        if quotas.get(stratum):
            by_stratum.setdefault(stratum, []).append(code)
    selected: dict[str, list[str]] = {}
    assignments: dict[str, str] = {}
    load = dict.fromkeys(ids, 0)
    passed: list[str] = []
    for stratum in sorted(by_stratum):
        quota = quotas[stratum]
        codes = by_stratum[stratum]
        # a unit is passed over only for a conflict: the quota plus every conflicting unit always suffices
        enough = quota + sum(len(c) for c in conflicts.values())
        taken: list[str] = []
        for code in _ranked(seed, codes, enough):
            if len(taken) >= quota:
                break
            eligible = [i for i in ids if code not in conflicts[i]] if ids else []
            if ids and not eligible:
                passed.append(code)
                continue
            taken.append(code)
            if eligible:
                chosen = min(eligible, key=lambda i: (load[i], rank_key(seed, code, i)))
                load[chosen] += 1
                assignments[code] = chosen
        if len(taken) < quota:
            raise DrawError(f"{STRATUM_LABELS.get(stratum, stratum)}中可由督查员回避后检查的单位不足{quota}个")
        selected[stratum] = taken
    return DrawResult(selected=selected, assignments=assignments, passed_over=passed)


def published_record(*, frame: Sequence[Sequence[str]], quotas: Mapping[str, int], seed: str,
                     inspectors: Sequence[Sequence[Any]], result: DrawResult | Mapping[str, Any]) -> dict[str, Any]:
    """The record published on the portal: the inputs, the result and the hash of each."""
    result_dict = result.as_dict() if isinstance(result, DrawResult) else dict(result)
    frame_list = [list(row) for row in frame]
    inspectors_list = [[str(i), sorted(codes)] for i, codes in inspectors]
    return {
        "algorithm": ALGORITHM,
        "inputs": {"frame": frame_list, "quotas": dict(quotas), "seed": seed, "inspectors": inspectors_list},
        "hashes": {
            "frame": sha256_of(frame_list),
            "quotas": sha256_of(dict(quotas)),
            "seed": sha256_of(seed),
            "inspectors": sha256_of(inspectors_list),
            "result": sha256_of(result_dict),
        },
        "result": result_dict,
    }


def verify_record(record: Mapping[str, Any]) -> list[str]:
    """Re-run a published record from its inputs. Returns the differences, each naming what differs (an empty list
    means the draw is reproduced exactly)."""
    problems: list[str] = []
    if record.get("algorithm") != ALGORITHM:
        return [f"algorithm: expected {ALGORITHM}, the record says {record.get('algorithm')!r}"]
    inputs = record.get("inputs") or {}
    hashes = record.get("hashes") or {}
    try:
        frame = [list(row) for row in inputs["frame"]]
        quotas = dict(inputs["quotas"])
        seed = inputs["seed"]
        inspectors = [[str(i), sorted(codes)] for i, codes in inputs["inspectors"]]
    except (KeyError, TypeError, ValueError) as exc:
        return [f"inputs: missing or malformed ({exc})"]
    actual = {"frame": sha256_of(frame), "quotas": sha256_of(quotas), "seed": sha256_of(seed),
              "inspectors": sha256_of(inspectors)}
    for name, digest in actual.items():
        if hashes.get(name) != digest:
            problems.append(f"{name} hash differs: published {hashes.get(name)}, inputs give {digest}")
    try:
        rerun = run_draw(frame=frame, quotas=quotas, seed=seed, inspectors=inspectors).as_dict()
    except DrawError as exc:
        return [*problems, f"re-run failed: {exc}"]
    rerun_hash = sha256_of(rerun)
    if hashes.get("result") != rerun_hash:
        problems.append(f"result hash differs: published {hashes.get('result')}, re-run gives {rerun_hash}")
    if sha256_of(record.get("result")) != rerun_hash:
        problems.append("result differs: the published units or assignments are not what the inputs give")
    return problems
