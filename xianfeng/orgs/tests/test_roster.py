"""The roster import service (xianfeng.orgs.roster) and the import_roster command."""

import datetime as dt
import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from xianfeng.core.ids import make_id_number
from xianfeng.core.models import AuditEvent
from xianfeng.orgs import roster, services
from xianfeng.orgs.models import Member, Membership, OrgKind, Person

pytestmark = pytest.mark.django_db

_seq = iter(range(100, 100_000))


def an_id(birth=dt.date(1985, 3, 4), gender="M"):
    return make_id_number("330424", birth, next(_seq), gender)


def a_row(**fields):
    row = {
        "姓名": "赵六", "性别": "男", "民族": "汉族", "出生日期": "", "身份证号": an_id(), "手机号": "13912345678",
        "学历": "本科", "职业": "教师", "入党日期": "2010-07-01", "转正日期": "2011-07-01",
        "所在党组织": "330424001001D01", "人员类别": "正式党员", "状态": "在册", "是否在职": "是",
    }
    row.update(fields)
    return row


def as_row(member):
    """An existing member as a roster row, as an export would write it."""
    return roster.roster_labels(Member.objects.select_related("person", "org").get(pk=member.pk))


def xlsx_bytes(rows, headers=roster.HEADERS, title=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(list(headers))
    for row in rows:
        ws.append([row.get(h) for h in headers])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def import_events():
    return AuditEvent.objects.filter(action="import")


# ------------------------------------------------------------------------------------------------ creating


def test_valid_rows_create_people_members_and_open_memberships(world):
    rows = [a_row(姓名="赵六"), a_row(姓名="钱七", 性别="女", 身份证号=an_id(gender="F"), 人员类别="预备党员",
                                    入党日期="2024-05-01", 转正日期="")]
    before = Member.objects.count()

    result = roster.roster_import(rows=rows, actor=world.hebin_secretary)

    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert Member.objects.count() == before + 2
    qian = Member.objects.get(person__name="钱七")
    assert qian.org == world.hebin_branch
    assert qian.category == Member.Category.PROBATIONARY and qian.full_date is None
    assert qian.person.gender == "F" and qian.person.birth_date == dt.date(1985, 3, 4)
    assert qian.person.initials == "qq"
    membership = qian.memberships.get()
    assert (membership.org, membership.start, membership.end, membership.kind) == (
        world.hebin_branch, dt.date(2024, 5, 1), None, Membership.Kind.PRIMARY)
    event = import_events().get()
    assert event.actor == world.hebin_secretary
    assert event.after["created"] == 2 and event.after["rows"] == 2


def test_defaults_apply_to_blank_optional_cells(world):
    row = {"姓名": "孙八", "身份证号": an_id(), "入党日期": "2011-01-01", "所在党组织": "330424001001D01"}

    result = roster.roster_import(rows=[row], actor=world.hebin_secretary)

    assert result.ok, result.errors
    member = Member.objects.get(person__name="孙八")
    assert (member.category, member.status, member.on_the_job) == ("full", "active", True)
    assert member.person.ethnicity == "汉族" and member.person.phone == ""


def test_dry_run_counts_but_writes_nothing(world):
    people = Person.objects.count()

    result = roster.roster_import(rows=[a_row(), a_row()], actor=world.hebin_secretary, dry_run=True)

    assert result.ok and result.created == 2
    assert Person.objects.count() == people
    assert not import_events().exists()


def test_existing_person_without_membership_becomes_a_member(world):
    person = services.person_upsert(name="周九", id_number=an_id(), phone="")
    services.resident_create(person=person, org=world.hebin)  # a resident of the importer's community

    result = roster.roster_import(rows=[a_row(姓名="周九", 身份证号=person.id_number)], actor=world.hebin_secretary)

    assert result.ok and result.created == 1
    assert Person.objects.filter(id_number=person.id_number).count() == 1
    assert Member.objects.get(person=person).person.phone == "13912345678"


# ------------------------------------------------------------------------------------------------ all or nothing


def test_one_bad_row_imports_nothing_and_reports_it(world):
    number = an_id()
    wrong_check = number[:17] + ("0" if number[17] != "0" else "1")
    rows = [a_row(), a_row(), a_row(姓名="吴十", 身份证号=wrong_check), a_row()]
    people, members = Person.objects.count(), Member.objects.count()

    result = roster.roster_import(rows=rows, actor=world.hebin_secretary)

    assert not result.ok
    assert [(e.row, e.column, e.message) for e in result.errors] == [(4, "身份证号", "身份证号校验位错误")]
    assert (Person.objects.count(), Member.objects.count()) == (people, members)
    assert not import_events().exists()


def test_every_bad_row_is_reported_with_its_column_and_reason(world):
    rows = [
        a_row(身份证号="33042419850304123"),  # 17 characters
        a_row(性别="女"),  # an odd sequence digit means male
        a_row(出生日期="1985-03-05"),  # the ID says 1985-03-04
        a_row(入党日期="2002-01-01"),  # aged 16
        a_row(入党日期="2010-07-01", 转正日期="2009-01-01"),
        a_row(人员类别="预备党员", 转正日期="2011-07-01"),
        a_row(入党日期="2010-02-30"),
        a_row(手机号="12345"),
        a_row(所在党组织="不存在的支部"),
        a_row(状态="开除"),
        a_row(是否在职="也许"),
        a_row(姓名=""),
        a_row(学历="很长" * 20),
        a_row(性别="未知"),
    ]

    result = roster.roster_import(rows=rows, actor=world.hebin_secretary)

    found = {(e.row, e.column) for e in result.errors}
    assert found == {
        (2, "身份证号"), (3, "性别"), (4, "出生日期"), (5, "入党日期"), (6, "转正日期"), (7, "转正日期"), (8, "入党日期"),
        (9, "手机号"), (10, "所在党组织"), (11, "状态"), (12, "是否在职"), (13, "姓名"), (14, "学历"), (15, "性别"),
    }
    messages = {(e.row, e.column): e.message for e in result.errors}
    assert messages[(5, "入党日期")] == "入党时未满18周岁"
    assert messages[(6, "转正日期")] == "转正日期早于入党日期"
    assert messages[(7, "转正日期")] == "预备党员不应有转正日期"
    assert messages[(3, "性别")] == "性别与身份证号不一致"
    assert result.bad_rows == 14


def test_a_bad_row_gets_every_reason_at_once(world):
    wang = world.members["qinshan_a"].person

    result = roster.roster_import(rows=[a_row(入党日期="昨天", 所在党组织="不存在"),
                                        a_row(身份证号=wang.id_number, 状态="开除")], actor=world.hebin_secretary)

    assert [(e.row, e.column) for e in result.errors] == [(2, "入党日期"), (2, "所在党组织"), (3, "状态"),
                                                          (3, "身份证号")]


def test_row_numbers_are_those_the_user_sees(world):
    table = roster.roster_read(xlsx_bytes([a_row(), a_row(身份证号="1")], title="河滨社区党员花名册"),
                               filename="花名册.xlsx")

    result = roster.roster_import(rows=table.rows, row_numbers=table.row_numbers, actor=world.hebin_secretary)

    assert [(e.row, e.column) for e in result.errors] == [(4, "身份证号")]


def test_duplicate_id_numbers_in_the_file(world):
    twin = an_id()

    result = roster.roster_import(rows=[a_row(身份证号=twin), a_row(), a_row(身份证号=twin.lower())],
                                  actor=world.hebin_secretary)

    assert [(e.row, e.column, e.message) for e in result.errors] == [(4, "身份证号", "与第2行的身份证号重复")]


def test_missing_required_column_is_a_file_error(world):
    rows = [{k: v for k, v in a_row().items() if k != "入党日期"}]

    result = roster.roster_import(rows=rows, actor=world.hebin_secretary)

    assert [(e.row, e.column) for e in result.errors] == [(0, "入党日期")]


def test_empty_file_is_an_error(world):
    assert roster.roster_import(rows=[], actor=world.hebin_secretary).errors[0].message == "文件中没有数据行"


# ------------------------------------------------------------------------------------------------ cell forms


def test_dates_in_every_accepted_form(world):
    rows = [
        a_row(入党日期=40360, 转正日期=dt.date(2011, 7, 1)),  # Excel serial of 2010-07-01
        a_row(入党日期="２０１０年７月１日", 转正日期="2011/7/1"),  # full-width digits
        a_row(入党日期="20100701", 转正日期=dt.datetime(2011, 7, 1, 0, 0)),
        a_row(入党日期="2010.07.01", 转正日期="40725"),
    ]

    result = roster.roster_import(rows=rows, actor=world.hebin_secretary)

    assert result.ok, result.errors
    dates = set(Member.objects.filter(person__id_number__in=[r["身份证号"] for r in rows])
                .values_list("join_date", "full_date"))
    assert dates == {(dt.date(2010, 7, 1), dt.date(2011, 7, 1))}


def test_id_number_with_spaces_full_width_and_lower_x_is_normalised(world):
    number = next(n for n in (an_id() for _ in range(50)) if n.endswith("X"))
    typed = " " + "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in number[:-1]).replace("１", "１ ", 1) + "ｘ"

    result = roster.roster_import(rows=[a_row(身份证号=typed, 手机号="１３９ １２３４ ５６７８")], actor=world.hebin_secretary)

    assert result.ok, result.errors
    person = Person.objects.get(id_number=number)
    assert person.phone == "13912345678"


def test_id_number_excel_stored_as_a_number_is_explained(world):
    result = roster.roster_import(rows=[a_row(身份证号=330424198503041234.0)], actor=world.hebin_secretary)

    assert "文本" in result.errors[0].message


def test_non_ascii_digits_are_refused_not_crashed(world):
    number = an_id()
    typed = number[0] + "".join(chr(0x660 + int(c)) for c in number[1:17]) + number[17]

    result = roster.roster_import(rows=[a_row(身份证号=typed)], actor=world.hebin_secretary)

    assert [(e.column) for e in result.errors] == ["身份证号"]


def test_header_aliases_and_marks_are_understood(world):
    row = a_row()
    renamed = {"*姓名": row["姓名"], "身份证号码（必填）": row["身份证号"], "入党时间": row["入党日期"],
               "所在党支部": "330424001001D01", "联系电话": "13912345678", "备注": "ignored"}

    result = roster.roster_import(rows=[renamed], actor=world.hebin_secretary)

    assert result.ok, result.errors
    assert Person.objects.get(id_number=row["身份证号"]).phone == "13912345678"


def test_organisation_by_full_name_short_name_or_code(world):
    rows = [
        a_row(所在党组织="海盐县/武原镇/河滨社区/河滨社区党支部"),
        a_row(所在党组织="海盐县 / 武原镇／河滨社区 / 河滨社区党支部"),
        a_row(所在党组织="河滨社区/河滨社区党支部"),
        a_row(所在党组织="河滨社区党支部"),
        a_row(所在党组织="330424001001d01"),
    ]

    result = roster.roster_import(rows=rows, actor=world.hebin_secretary)

    assert result.ok, result.errors
    assert Member.objects.filter(person__id_number__in=[r["身份证号"] for r in rows], org=world.hebin_branch).count() == 5


def test_ambiguous_short_name_asks_for_code(world):
    services.org_create(name="河滨社区党支部", code="330424001001D09", kind=OrgKind.BRANCH, parent=world.wuyuan)

    result = roster.roster_import(rows=[a_row(所在党组织="河滨社区党支部")], actor=world.wuyuan_admin)

    assert "多个组织" in result.errors[0].message


# ------------------------------------------------------------------------------------------------ scope


def test_outsider_cannot_import_into_wuyuan_organisations(world):
    rows = [a_row(所在党组织="330424001001D01"), a_row(所在党组织="海盐县/武原镇/河滨社区/河滨社区党支部")]
    people = Person.objects.count()

    result = roster.roster_import(rows=rows, actor=world.qinshan_secretary)

    assert [(e.row, e.column) for e in result.errors] == [(2, "所在党组织"), (3, "所在党组织")]
    assert "不在您的管理范围" in result.errors[0].message
    assert Person.objects.count() == people


def test_outsider_gets_the_same_answer_for_wuyuan_and_for_nothing(world):
    wuyuan = roster.roster_import(rows=[a_row(所在党组织="330424001001D01")], actor=world.qinshan_secretary)
    missing = roster.roster_import(rows=[a_row(所在党组织="999999")], actor=world.qinshan_secretary)

    assert wuyuan.errors[0].message == missing.errors[0].message


def test_member_of_an_organisation_outside_scope_is_an_error(world):
    wang = world.members["qinshan_a"]

    result = roster.roster_import(rows=[a_row(身份证号=wang.person.id_number)], actor=world.hebin_secretary)

    assert [(e.row, e.column) for e in result.errors] == [(2, "身份证号")]
    assert Member.objects.get(pk=wang.pk).org == world.qinshan_branch


def test_member_role_has_no_scope_to_import_into(world):
    result = roster.roster_import(rows=[a_row()], actor=world.member)

    assert result.errors[0].column == "所在党组织"


def test_system_import_may_go_anywhere(world):
    result = roster.roster_import(rows=[a_row(所在党组织="330424002001D01")], actor=None)

    assert result.ok
    assert import_events().get().actor is None


# ------------------------------------------------------------------------------------------------ upsert


def test_reimport_is_a_no_op(world):
    rows = [a_row(), a_row(姓名="钱七", 转正日期="", 人员类别="预备党员", 入党日期="2024-05-01")]
    first = roster.roster_import(rows=rows, actor=world.hebin_secretary)
    assert first.created == 2
    counts = (Person.objects.count(), Member.objects.count(), Membership.objects.count(), AuditEvent.objects.count())
    stamps = list(Member.objects.order_by("pk").values_list("updated_at", flat=True))

    again = roster.roster_import(rows=rows, actor=world.hebin_secretary)

    assert again.ok and (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert (Person.objects.count(), Member.objects.count(), Membership.objects.count(),
            AuditEvent.objects.count()) == counts
    assert list(Member.objects.order_by("pk").values_list("updated_at", flat=True)) == stamps


def test_exported_rows_reimport_unchanged(world):
    rows = [as_row(world.members["hebin_a"]), as_row(world.members["hebin_b"])]

    result = roster.roster_import(rows=rows, actor=world.hebin_secretary)

    assert result.ok and result.unchanged == 2, result.errors


def test_changed_row_updates_person_and_member(world):
    zhang = world.members["hebin_a"]
    row = as_row(zhang) | {"手机号": "13700001111", "学历": "研究生", "状态": "流动党员"}

    result = roster.roster_import(rows=[row], actor=world.hebin_secretary)

    assert result.ok and (result.created, result.updated, result.transferred) == (0, 1, 0)
    zhang = Member.objects.select_related("person").get(pk=zhang.pk)
    assert (zhang.person.phone, zhang.education, zhang.status) == ("13700001111", "研究生", "flowing")
    assert zhang.memberships.count() == 1
    assert import_events().get().after["updated_member_ids"] == [zhang.pk]


def test_changed_organisation_is_a_transfer(world):
    second = services.org_create(name="河滨社区第二党支部", code="330424001001D02", kind=OrgKind.BRANCH,
                                 parent=world.hebin)
    zhang = world.members["hebin_a"]
    row = as_row(zhang) | {"所在党组织": second.code}

    result = roster.roster_import(rows=[row], actor=world.hebin_secretary)

    assert result.ok and (result.updated, result.transferred) == (1, 1)
    zhang.refresh_from_db()
    assert zhang.org == second
    closed, opened = zhang.memberships.order_by("start", "id")
    assert (closed.org, closed.end, closed.reason_out) == (world.hebin_branch, dt.date.today(), "组织关系转接")
    assert (opened.org, opened.start, opened.end) == (second, dt.date.today(), None)
    assert import_events().get().after["transfers"] == [[zhang.pk, world.hebin_branch.pk, second.pk]]
    again = roster.roster_import(rows=[row], actor=world.hebin_secretary)
    assert again.unchanged == 1 and zhang.memberships.count() == 2


def test_transfer_into_the_managing_organisation_ends_the_managing_link(world):
    second = services.org_create(name="河滨社区第二党支部", code="330424001001D02", kind=OrgKind.BRANCH,
                                 parent=world.hebin)
    zhang = world.members["hebin_a"]
    services.member_set_managing_org(member=zhang, org=second, on=dt.date(2020, 1, 1))

    result = roster.roster_import(rows=[as_row(zhang) | {"所在党组织": second.code}], actor=world.hebin_secretary)

    assert result.ok
    zhang.refresh_from_db()
    assert zhang.org == second and zhang.managing_org is None
    assert not zhang.memberships.filter(kind=Membership.Kind.MANAGING, end__isnull=True).exists()
    assert zhang.memberships.filter(end__isnull=True).get().kind == Membership.Kind.PRIMARY


def test_transfer_out_of_scope_is_refused(world):
    zhang = world.members["hebin_a"]

    result = roster.roster_import(rows=[as_row(zhang) | {"所在党组织": "330424002001D01"}], actor=world.hebin_secretary)

    assert result.errors[0].column == "所在党组织"
    zhang.refresh_from_db()
    assert zhang.org == world.hebin_branch


def test_lookups_and_writes_work_across_many_chunks(world, monkeypatch):
    monkeypatch.setattr(roster, "_chunk_size", lambda: 2)
    second = services.org_create(name="河滨社区第二党支部", code="330424001001D02", kind=OrgKind.BRANCH,
                                 parent=world.hebin)
    rows = [a_row(姓名=f"成员{i}") for i in range(7)] + [as_row(world.members["hebin_a"])]
    first = roster.roster_import(rows=rows, actor=world.hebin_secretary)
    assert first.ok and (first.created, first.unchanged) == (7, 1), first.errors

    moved = [r | {"所在党组织": second.code} for r in rows[:5]] + rows[5:]
    result = roster.roster_import(rows=moved, actor=world.hebin_secretary)

    assert result.ok and (result.updated, result.transferred, result.unchanged) == (5, 5, 3)
    assert Member.objects.filter(org=second).count() == 5
    assert Membership.objects.filter(org=second, end__isnull=True).count() == 5


def test_progress_is_reported(world):
    seen = []

    roster.roster_import(rows=[a_row() for _ in range(3)], actor=world.hebin_secretary,
                         progress=lambda stage, done, total: seen.append((stage, done, total)))

    assert ("validate", 3, 3) in seen and seen[-1] == ("write", 6, 6)


def test_or_raise_raises_with_every_error(world):
    with pytest.raises(roster.RosterImportError) as caught:
        roster.roster_import_or_raise(rows=[a_row(身份证号="x"), a_row(入党日期="")])

    assert [(e.row, e.column) for e in caught.value.result.errors] == [(2, "身份证号"), (3, "入党日期")]


def test_summary_line(world):
    result = roster.roster_import(rows=[a_row() for _ in range(3)], actor=world.hebin_secretary)

    assert result.summary().startswith("imported 3 members in ")
    assert result.summary().split("; ")[1].startswith("0 errors (3 created, 0 updated, 0 unchanged")


# ------------------------------------------------------------------------------------------------ the command


def test_command_imports_a_file_and_prints_a_summary(world, tmp_path, capsys):
    path = tmp_path / "花名册.xlsx"
    path.write_bytes(xlsx_bytes([a_row(), a_row()]))

    call_command("import_roster", str(path), "--user", "hebin_secretary")

    captured = capsys.readouterr()
    assert "imported 2 members in" in captured.out and "0 errors" in captured.out
    assert "checking rows: done" in captured.err and "writing: done" in captured.err
    assert import_events().get().actor == world.hebin_secretary


def test_command_dry_run_writes_nothing(world, tmp_path, capsys):
    path = tmp_path / "roster.csv"
    path.write_text(",".join(roster.HEADERS) + "\n" + ",".join(str(a_row()[h]) for h in roster.HEADERS) + "\n",
                    encoding="utf-8-sig")
    people = Person.objects.count()

    call_command("import_roster", str(path), "--dry-run")

    assert "checked 1 members" in capsys.readouterr().out
    assert Person.objects.count() == people


def test_command_lists_bad_rows_and_fails(world, tmp_path, capsys):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx_bytes([a_row(), a_row(入党日期="昨天")]))
    people = Person.objects.count()

    with pytest.raises(CommandError) as caught:
        call_command("import_roster", str(path), "--user", "hebin_secretary")

    assert caught.value.returncode == 1
    assert "1 errors" in str(caught.value)
    assert "第3行 入党日期" in capsys.readouterr().err
    assert Person.objects.count() == people


def test_command_refuses_unknown_user_and_unreadable_file(world, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(b"not a workbook")
    with pytest.raises(CommandError, match="no user"):
        call_command("import_roster", str(path), "--user", "nobody")
    with pytest.raises(CommandError, match="xlsx"):
        call_command("import_roster", str(path))


# ------------------------------------------------------------------------------------------------ concurrency


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_new_people_at_once_write_them_once(world, postgres_only, monkeypatch):
    import threading

    from xianfeng.core.testing import race

    rows = [a_row() for _ in range(50)]
    barrier = threading.Barrier(2, timeout=30)
    write = roster._write

    def write_together(*args, **kwargs):
        barrier.wait()  # both have validated against an empty table; now both write
        return write(*args, **kwargs)

    monkeypatch.setattr(roster, "_write", write_together)
    results = race(2, lambda i: roster.roster_import(rows=rows, actor=world.hebin_secretary))
    failures = [r for r in results if isinstance(r, BaseException)]

    assert not failures
    assert sorted(r.ok for r in results) == [False, True]
    loser = next(r for r in results if not r.ok)
    assert "其他操作修改" in loser.errors[0].message and loser.created == 0
    assert Person.objects.filter(id_number__in=[r["身份证号"] for r in rows]).count() == 50
    assert import_events().count() == 1
