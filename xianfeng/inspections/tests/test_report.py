"""The report: the seed's structure and figures, the .docx geometry read back from its XML, PDF and HTML."""

import datetime as dt
import io
import zipfile

import pytest
from lxml import etree

from xianfeng.inspections import report, services

from .conftest import answers

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture
def done(inspection, questionnaire, units, world):
    """An inspection with the report's counts in small: 2 spot checks, a seminar, the draw, interviews, 200 forms."""
    services.inspection_update(inspection=inspection, questionnaires_issued=200, actor=world.inspector)
    services.spot_check_add(inspection=inspection, org=world.health_bureau, date=dt.date(2026, 9, 13), actor=world.inspector)
    services.spot_check_add(inspection=inspection, org=world.wuyuan, date=dt.date(2026, 9, 14), actor=world.inspector)
    services.seminar_record(inspection=inspection, title="座谈会", date=dt.date(2026, 9, 14), members=5, residents=5, actor=world.inspector)
    frozen = services.draw_freeze(inspection=inspection, today=dt.date(2026, 9, 12), actor=world.inspector)
    services.draw_publish(draw=frozen, seed="s", actor=world.inspector)
    for i in range(172):
        services.interview_record(inspection=inspection, respondent_type="resident",
                                  method="door_to_door" if i % 2 else "street", date=dt.date(2026, 9, 14), actor=world.inspector)
    rows = [{"answers": {**answers(aware=i > 0), "satisfaction": "1" if i > 1 else "3",
                         "recognition": "yes"}, "respondent_type": "resident", "method": "street",
             "client_key": str(i)} for i in range(200)]
    # the fixture form asks satisfaction only of the aware; answer it for everyone by making all aware but one
    for row in rows:
        if row["answers"]["awareness"] == "no":
            row["answers"].pop("satisfaction")
            row["answers"].pop("recognition")
    services.responses_bulk_create(questionnaire=questionnaire, rows=rows, actor=world.inspector)
    return inspection


def test_the_intro_states_every_count_from_the_records(done):
    text = report.build(done).sections["intro"]
    assert "9月13日至16日，我组一行1人赴海盐县" in text
    assert "听取了海盐县委的工作汇报" in text and "查阅了有关台账资料" in text
    assert "实地抽查了卫生局和武原镇等部门和单位" in text
    assert "召开了1个党员群众座谈会" in text
    assert "随机检查了15个村（社区）、2家非公企业、2个社会组织、1家医院、1所学校" in text
    assert "通过入户调查、街头随访等方式走访党员群众170余名" in text
    assert "发放并收回调查问卷200份" in text
    assert "群众知晓率和满意度分别达到了99.5%和99.5%" in text  # 198 of the 199 aware were satisfied
    assert "97.2%–99.9%" in text


def test_the_report_follows_the_seeds_structure_and_keeps_edits(done):
    services.report_section_save(inspection=done, key="practices", text="1、领导重视，周密部署。", actor=done.created_by)
    built = report.build(done)
    assert built.title == "海盐县创先争优活动现场点评工作情况汇报" and built.author == "现场点评第七组"
    assert built.sections["practices"] == "1、领导重视，周密部署。"
    assert built.drafts["practices"] != built.sections["practices"]
    html = report.render_html(built)
    for heading in ("一、基本做法", "二、主要特点和成效", "三、意见和建议"):
        assert heading in html
    assert html.index("一、基本做法") < html.index("二、主要特点和成效") < html.index("三、意见和建议")
    assert "我们建议" in built.sections["recommendations"]


def _xml(docx: bytes, name: str):
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        return etree.fromstring(z.read(name))


def test_docx_has_the_gb_t_9704_geometry_fonts_and_grid(done, test_rates, units):
    test_rates("t.rate", {v.code: (9, 10) for v in units["village"]} | {units["village"][0].code: (1, 10)},
               label="践诺率")
    data = report.render_docx(report.build(done))
    doc = _xml(data, "word/document.xml")
    sect = doc.find(f".//{W}sectPr")
    size, margins, grid = sect.find(f"{W}pgSz"), sect.find(f"{W}pgMar"), sect.find(f"{W}docGrid")
    twips = lambda mm: round(mm / 25.4 * 1440)  # noqa: E731
    assert (int(size.get(f"{W}w")), int(size.get(f"{W}h"))) == (twips(210), twips(297))
    assert int(margins.get(f"{W}top")) == twips(37) and int(margins.get(f"{W}bottom")) == twips(35)
    assert int(margins.get(f"{W}left")) == twips(28) and int(margins.get(f"{W}right")) == twips(26)
    assert grid.get(f"{W}type") == "lines" and grid.get(f"{W}linePitch") == "579"  # 22 lines of 28.95 pt
    # every 16-pt body run is narrowed so that exactly 28 characters fit the 156 mm text width
    width_pt = 156 / 25.4 * 72
    body_runs = [r for r in doc.iter(f"{W}r") if (sz := r.find(f".//{W}sz")) is not None and sz.get(f"{W}val") == "32"]
    assert body_runs
    spacings = {r.find(f".//{W}spacing").get(f"{W}val") for r in body_runs}
    assert len(spacings) == 1
    pitch = 16 + int(spacings.pop()) / 20
    assert 28 * pitch <= width_pt < 29 * pitch
    styles = _xml(data, "word/styles.xml")
    normal = styles.find(f".//{W}style[@{W}styleId='Normal']")
    fonts = normal.find(f".//{W}rFonts")
    assert fonts.get(f"{W}eastAsia") == "仿宋_GB2312"
    assert normal.find(f".//{W}sz").get(f"{W}val") == "32"  # half-points: 16 pt, 三号
    runs = doc.findall(f".//{W}r")
    title = runs[0]
    assert title.find(f"{W}t").text == "海盐县创先争优活动现场点评工作情况汇报"
    assert title.find(f".//{W}rFonts").get(f"{W}eastAsia") == "方正小标宋简体"
    assert title.find(f".//{W}sz").get(f"{W}val") == "44"  # 22 pt, 二号
    body_texts = "".join(t.text or "" for t in doc.iter(f"{W}t"))
    assert "一、基本做法" in body_texts and "97.2%–99.9%" in body_texts
    assert doc.find(f".//{W}tbl") is not None  # the rate table
    assert doc.find(f".//{W}drawing") is not None  # the funnel plot
    footers = [n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.startswith("word/footer")]
    texts = []
    for name in footers:
        footer = _xml(data, name)
        texts.append("".join(t.text or "" for t in footer.iter(f"{W}t")))
        assert "PAGE" in "".join(t.text or "" for t in footer.iter(f"{W}instrText"))
        assert footer.find(f".//{W}sz").get(f"{W}val") == "28"  # 14 pt, 四号
    assert "— 1 —" in texts
    settings = _xml(data, "word/settings.xml")
    assert settings.find(f"{W}evenAndOddHeaders") is not None


def test_pdf_embeds_a_cjk_font(done):
    import contextlib
    import re
    import zlib

    pdf = report.render_pdf(report.build(done, with_funnels=False))
    assert pdf[:5] == b"%PDF-"
    objects = pdf
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        with contextlib.suppress(zlib.error):
            objects += zlib.decompress(stream)
    assert re.search(rb"/FontFile[23]?", objects)  # the font program is embedded, not just named
    assert b"Fandol" in objects or b"WenQuanYi" in objects


def test_count_text_and_short_names_follow_the_report():
    assert report.count_text(172) == "170余名" and report.count_text(40) == "40名"
    assert report.short_name("县卫生局") == "卫生局" and report.short_name("县委政法委") == "政法委"
    assert report.short_name("武原镇") == "武原镇"


def test_unknown_format_is_refused(done):
    with pytest.raises(ValueError):
        report.render(report.build(done), "odt")




def test_libreoffice_sets_the_docx_in_22_lines_of_28_characters(done, tmp_path):
    """Open the .docx in LibreOffice (Debian's libreoffice-writer-nogui, installed by `make system-deps`), print it
    to PDF and read the text back: A4 pages, no full line of Chinese longer than 28 characters and some exactly 28,
    at most 22 body lines a page."""
    import re
    import shutil
    import subprocess

    if not (shutil.which("soffice") and shutil.which("pdftotext")):
        pytest.fail("LibreOffice and poppler-utils are missing: run `make system-deps`")
    (tmp_path / "report.docx").write_bytes(report.render_docx(report.build(done)))
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(tmp_path / "report.docx")], check=True, capture_output=True,
                   timeout=180)
    info = subprocess.run(["pdfinfo", str(tmp_path / "report.pdf")], capture_output=True, text=True).stdout
    assert "(A4)" in info
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "report.pdf"), "-"], capture_output=True,
                          text=True).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) >= 2
    chinese_only = re.compile(r"^[\u4e00-\u9fff，。、；：（）]+$")
    widths = []
    for page in pages:
        lines = [line.replace(" ", "") for line in page.splitlines() if line.strip()]
        body = [line for line in lines if not re.fullmatch(r"—\d+—", line)]
        assert len(body) <= 22, body
        widths += [len(line) for line in body if chinese_only.match(line)]
    assert max(widths) == 28, sorted(widths)[-10:]
