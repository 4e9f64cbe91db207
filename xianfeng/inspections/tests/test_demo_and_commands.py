"""The demo inspection mirrors the report; `inspection_report` writes it; `draw_verify` reproduces the draw and
names the hash that differs when an input was altered."""

import json

import pytest
from django.core.management import CommandError, call_command

from xianfeng.core.demo import DemoContext
from xianfeng.inspections import report
from xianfeng.inspections.demo import build_inspection
from xianfeng.inspections.models import Draw, Inspection
from xianfeng.orgs.demo import build_foundation


@pytest.fixture
def demo(db):
    ctx = DemoContext(seed=2010, scale=0.05, log=lambda s: None)
    build_foundation(ctx)
    build_inspection(ctx)
    return Inspection.objects.get()


def test_the_demo_inspections_report_shows_the_seeds_figures_and_its_draw_verifies(demo, tmp_path, capsys):
    intro = report.build(demo, with_funnels=False).sections["intro"]
    for fragment in ("9月13日至16日，我组一行4人赴海盐县", "实地抽查了卫生局、政法委和武原镇、秦山镇等部门和单位",
                     "召开了2个党员群众座谈会", "随机检查了15个村（社区）、2家非公企业、2个社会组织、1家医院、1所学校",
                     "走访党员群众170余名", "发放并收回调查问卷200份", "分别达到了99.5%和99%",
                     "97.2%–99.9%和96.4%–99.7%"):
        assert fragment in intro
    assert demo.group_name == "现场点评第七组" and demo.group.count() == 4
    out = tmp_path / "report.docx"
    call_command("inspection_report", demo.pk, "--format", "docx", "-o", str(out))
    assert out.read_bytes()[:2] == b"PK"
    # (one test: building the demo county is the slow part)
    check_draw_verify(tmp_path, capsys)


def check_draw_verify(tmp_path, capsys):
    """draw_verify reproduces the published draw and names the hash of an altered input."""
    draw = Draw.objects.get()
    call_command("draw_verify", draw.pk)
    assert "reproduced" in capsys.readouterr().out
    record = dict(draw.record)
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    call_command("draw_verify", "--file", str(path))
    record["inputs"] = {**record["inputs"], "quotas": {**record["inputs"]["quotas"], "hospital": 2}}
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CommandError, match="NOT reproduced"):
        call_command("draw_verify", "--file", str(path))
    assert "quotas hash differs" in capsys.readouterr().err
