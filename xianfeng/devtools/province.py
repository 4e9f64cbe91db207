"""The province dataset for benchmarks: `xianfeng demo --scale province [--fraction F]`.

Development tooling, not part of the product: it sits above every app it fills (`xianfeng.devtools`), so no app and
nothing in `core` imports it except the `demo` command that runs it.

A province of 11 cities and 90 counties (浙江's), 100,000 organisations on the materialized path, 4,000,000 members
(Person with GB 11643 ID numbers that agree with birth date and gender, Member, the open Membership row), 60,000
grids, and a year of activity in the proportions of the demo county per member: one pledge per member with its
items, party lessons with per-person attendance, grid cases with their lifecycle events.

Bulk path: rows are generated in chunks and streamed with PostgreSQL COPY (psycopg 3 `cursor.copy`; executemany
INSERTs on SQLite, for the tests' tiny fractions). Each table's columns come from the model's field list at run
time (`Table`): the builder fills the fields it knows, every other column gets its field's default, and a required
column without a default stops the build before it writes anything. Constraints, foreign keys and indexes stay in
place, so the database checks every row. The rules the services apply are applied here the same way:
  - paths: each child gets its parent's path + the next 4-character base-36 segment; `next_child` counts the
    children handed out; `full_name` joins the ancestors' names with "/"; `depth` is the path length / 4;
  - people: ID number = the county's 6-digit region code + birth date + a sequence of the gender's parity + the
    GB 11643 check character; members join at 18 or later, full members have a full date after joining;
  - pledges: one per member per round (the county's round, created by `round_create`); fulfilled dates only on
    fulfilled pledges; items carry the round's dates;
  - lessons: attendees are members of the lesson's own branch, once per person, checking in up to 20 minutes
    before the start;
  - cases: deadlines from the catalogue and the working-day calendar (`grids.calendar.deadline`); closed cases
    have an outcome and an on-time flag; one CaseEvent per step of the lifecycle.
Organisations, logins, rounds and the catalogue go through the services. Not built here: residents, the other
modules' records (demands, points, care, campaigns, inspections); the per-pledge history rows (PledgeEvent).
The whole build is one transaction: it leaves a province or nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection, models, transaction
from django.db.models.fields import NOT_PROVIDED
from django.utils import timezone

from xianfeng.core.demo import DEMO_PASSWORD, DEMO_TODAY
from xianfeng.core.ids import id_check_char
from xianfeng.core.scoping import SEGMENT, encode_segment
from xianfeng.core.text import pinyin_initials
from xianfeng.events.models import Activity, Attendance
from xianfeng.grids import services as grid_services
from xianfeng.grids.calendar import deadline, load_calendar
from xianfeng.grids.demo import CATALOGUE, CATEGORY_WEIGHTS, HOLIDAYS_2026, WORKED_WEEKENDS_2026
from xianfeng.grids.models import Case, CaseCategory, CaseEvent, Grid
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import Member, Membership, Organisation, Person
from xianfeng.pledges import services as pledge_services
from xianfeng.pledges.models import Pledge, PledgeItem

MEMBERS = 4_000_000
GRIDS = 60_000
# The demo county's volumes per member (20,400 members): 502 lessons with 19,236 attendances, 9,000 cases a year.
DEMO_MEMBERS = 20_400
LESSONS_PER_MEMBER = 502 / DEMO_MEMBERS
ATTENDANCE_PER_MEMBER = 19_236 / DEMO_MEMBERS
CASES_PER_MEMBER = 9_000 / DEMO_MEMBERS
CHUNK = 20_000  # rows generated and copied at a time

# Per county: 10 towns × (1 town committee + 12 villages × (1 general branch + 3 branches) + 22 units × 1 branch)
# + 25 departments × 1 branch + the county itself = 1,111; × 90 + province + 11 cities ≈ 100,000.
TOWNS, VILLAGES, BRANCHES, UNITS, DEPARTMENTS = 10, 12, 3, 22, 25

CITIES: list[tuple[str, list[str]]] = [
    ("杭州市", ["上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "富阳区", "临安区", "临平区", "钱塘区",
                "桐庐县", "淳安县", "建德市"]),
    ("宁波市", ["海曙区", "江北区", "北仑区", "镇海区", "鄞州区", "奉化区", "象山县", "宁海县", "余姚市", "慈溪市"]),
    ("温州市", ["鹿城区", "龙湾区", "瓯海区", "洞头区", "永嘉县", "平阳县", "苍南县", "文成县", "泰顺县", "瑞安市", "乐清市", "龙港市"]),
    ("嘉兴市", ["南湖区", "秀洲区", "嘉善县", "海盐县", "海宁市", "平湖市", "桐乡市"]),
    ("湖州市", ["吴兴区", "南浔区", "德清县", "长兴县", "安吉县"]),
    ("绍兴市", ["越城区", "柯桥区", "上虞区", "新昌县", "诸暨市", "嵊州市"]),
    ("金华市", ["婺城区", "金东区", "武义县", "浦江县", "磐安县", "兰溪市", "义乌市", "东阳市", "永康市"]),
    ("衢州市", ["柯城区", "衢江区", "常山县", "开化县", "龙游县", "江山市"]),
    ("舟山市", ["定海区", "普陀区", "岱山县", "嵊泗县"]),
    ("台州市", ["椒江区", "黄岩区", "路桥区", "三门县", "天台县", "仙居县", "温岭市", "临海市", "玉环市"]),
    ("丽水市", ["莲都区", "青田县", "缙云县", "遂昌县", "松阳县", "云和县", "庆元县", "景宁畲族自治县", "龙泉市"]),
]
SYLLABLES = "丰庆安福兴华新和平永乐民胜利光明红星长春友谊建设联合团结东西南北中金银山水林桥塘湾浦港石园"
ORDINALS = "一二三四五六七八九十"
DEPARTMENT_NAMES = ["委办公室", "政府办公室", "委组织部", "委宣传部", "委统战部", "委政法委", "纪委", "发改局",
                    "教育局", "科技局", "公安局", "民政局", "司法局", "财政局", "人力社保局", "自然资源局", "住建局",
                    "交通运输局", "水利局", "农业农村局", "商务局", "文广旅体局", "卫健局", "审计局", "生态环境局"]
UNIT_KINDS = [("enterprise", "有限公司", 15), ("social", "协会", 3), ("hospital", "卫生院", 2), ("school", "学校", 2)]
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN_M = "建国志强军海明伟文杰永康国平建华德明晓东俊杰浩然宇轩思远子豪立新卫东振华家乐"
GIVEN_F = "秀英丽华玉兰海燕红梅芳桂英春梅金凤淑珍小红雪梅美玲子涵欣怡嘉怡梓萱静文慧敏"
EDUCATION = ["初中", "高中", "中专", "大专", "大学", "研究生"]
OCCUPATIONS = ["农民", "工人", "企业管理人员", "专业技术人员", "机关干部", "教师", "医生", "个体经营者", "离退休人员"]
ITEM_TEXTS = ["每月为{u}{n}户独居老人上门服务一次", "年底前为{u}修缮{n}处破损路面", "每周{d}到{u}党员服务站值班{n}小时",
              "结对帮扶{u}{n}户困难家庭，每季度走访一次", "为{u}青少年开展{n}次课后辅导", "组织{u}{n}次环境卫生整治"]
TOPICS = ["学习贯彻党的二十大精神", "创先争优与基层组织建设", "党员先锋作用的发挥", "为民服务全程代理", "党的纪律与廉洁自律",
          "乡村振兴中的党员担当", "基层治理与网格化服务"]


class BulkError(Exception):
    """The bulk path cannot fill a model's table (a required column with no default)."""


def _utc_text(value: dt.datetime) -> str:
    return str(value.astimezone(dt.UTC).replace(tzinfo=None))


def _column_field(model: type[models.Model], field: Any) -> models.Field:
    """`field` if it is one of the model's own columns (not a reverse relation or a generic key)."""
    if not isinstance(field, models.Field) or not field.concrete:
        raise BulkError(f"{model._meta.label}: {field.name} is not a column of the table")
    return field


class Table:
    """One model's table for bulk writing, its columns taken from the model's field list at run time.

    `fields` names what the caller fills, primary key first (the caller numbers its rows with `new_id`); every other
    concrete column gets its field's default, prepared once.
    """

    def __init__(self, model: type[models.Model], fields: Sequence[str], *, now: dt.datetime):
        self.model = model
        self.vendor = connection.vendor
        meta = model._meta
        given = [_column_field(model, meta.get_field(name)) for name in fields]
        if not given[0].primary_key:
            raise BulkError(f"{meta.label}: the first field given must be the primary key")
        names = {f.name for f in given}
        rest = [(f, self._default(f, now)) for f in meta.concrete_fields if f.name not in names]
        self.columns: list[str] = [str(f.column) for f in given] + [str(f.column) for f, _ in rest]
        self.rest = tuple(self._prepare(f, v) for f, v in rest)
        self.adapters = [self._adapter(f) for f in given]
        self.next_id = (model._default_manager.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        self.written = 0

    @staticmethod
    def _default(field: models.Field, now: dt.datetime) -> Any:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            return now if isinstance(field, models.DateTimeField) else now.date()
        if field.default is not NOT_PROVIDED:
            return field.get_default()
        if field.null:
            return None
        if isinstance(field, (models.CharField, models.TextField, models.FileField)):
            return ""
        raise BulkError(f"{field.model._meta.label}.{field.name} is required and has no default: "
                        "the province builder does not fill it yet")

    def _prepare(self, field: models.Field, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(field, models.JSONField):
            return self.json(value)
        if isinstance(field, models.DateTimeField):
            return _utc_text(value) if self.vendor == "sqlite" else value
        if isinstance(field, models.DateField):
            return value.isoformat() if self.vendor == "sqlite" else value
        return field.get_db_prep_save(value, connection)

    def _adapter(self, field: models.Field) -> Callable[[Any], Any] | None:
        if self.vendor != "sqlite":
            return None
        if isinstance(field, models.DateTimeField):
            return _utc_text
        if isinstance(field, models.DateField):
            return dt.date.isoformat
        return None

    def json(self, value: Any) -> Any:
        if value is None:
            return None
        if self.vendor == "postgresql":
            from psycopg.types.json import Jsonb

            return Jsonb(value)
        return json.dumps(value, ensure_ascii=False)

    def new_id(self) -> int:
        pk = self.next_id
        self.next_id += 1
        return pk

    def write(self, rows: Iterable[Sequence[Any]]) -> int:
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        cols = ", ".join(quote(c) for c in self.columns)
        rest = self.rest
        n = 0
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                # table and column names come from the model's metadata, quoted
                with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    write_row = copy.write_row
                    for row in rows:
                        write_row((*row, *rest))
                        n += 1
            else:
                adapters = self.adapters
                sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(self.columns))})"  # noqa: S608
                batch: list[tuple] = []
                for row in rows:
                    batch.append((*(v if a is None or v is None else a(v) for a, v in zip(adapters, row, strict=True)),
                                  *rest))
                    if len(batch) >= 5000:
                        cursor.executemany(sql, batch)
                        n, batch = n + len(batch), []
                if batch:
                    cursor.executemany(sql, batch)
                    n += len(batch)
        self.written += n
        return n


class DeferredKeys:
    """PostgreSQL: the filled tables' foreign keys and secondary indexes are dropped for the load and re-created
    from their own definitions at the end (as pg_restore does). Re-creating them checks every row at once — a
    foreign key is validated by one join, an index (unique ones included) is built by one sort — instead of one
    lookup per row and key. Primary keys, unique constraints and check constraints stay in place throughout.
    """

    def __init__(self, model_list: list[type[models.Model]]):
        self.tables = [m._meta.db_table for m in model_list]
        self.keys: list[tuple[str, str, str]] = []  # (table, name, definition)
        self.indexes: list[tuple[str, str]] = []  # (name, definition)

    def drop(self) -> str:
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for table in self.tables:
                cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                               "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname", [quote(table)])
                self.keys += [(table, name, definition) for name, definition in cursor.fetchall()]
                cursor.execute("SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                               "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass "
                               "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
                               "ORDER BY c.relname", [quote(table)])
                self.indexes += cursor.fetchall()
            for table, name, _definition in self.keys:
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
            for name, _definition in self.indexes:
                cursor.execute(f"DROP INDEX {quote(name)}")
        return f"{len(self.keys)} foreign keys, {len(self.indexes)} indexes"

    def restore(self) -> str:
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for _name, definition in self.indexes:
                cursor.execute(definition)
            for table, name, definition in self.keys:
                cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
        return f"{len(self.indexes)} indexes built, {len(self.keys)} foreign keys validated"


def _filled_models() -> list[type[models.Model]]:
    return [Organisation, Person, Member, Membership, Grid, Pledge, PledgeItem, Activity, Attendance, Case, CaseEvent]


def _reset_sequences(model_list: list[type[models.Model]]) -> None:
    from django.core.management.color import no_style

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), model_list):
            cursor.execute(sql)


class _Org:
    __slots__ = ("id", "code", "name", "kind", "parent", "path", "depth", "full_name", "children")

    def __init__(self, pk, code, name, kind, parent):
        self.id, self.code, self.name, self.kind, self.parent = pk, code, name, kind, parent
        self.children = 0
        if parent is None:
            self.path, self.depth, self.full_name = encode_segment(0), 1, name
        else:
            self.path = parent.path + encode_segment(parent.children)
            parent.children += 1
            self.depth, self.full_name = parent.depth + 1, f"{parent.full_name}/{name}"


class ProvinceBuilder:
    def __init__(self, *, seed: int = 2010, fraction: float = 1.0, log: Callable[[str], None] = print):
        if not 0 < fraction <= 1:
            raise ValueError("fraction must be in (0, 1]")
        self.rng = random.Random(seed)
        self.fraction = fraction
        self.log = log
        self.now = timezone.make_aware(dt.datetime.combine(DEMO_TODAY, dt.time(17)))
        self.year_start = self.now - dt.timedelta(days=365)
        self.stages: list[tuple[str, float, str]] = []
        self.counts: dict[str, int] = {}
        n_counties = max(1, round(90 * fraction))
        self.inner = min(1.0, fraction * 90 / n_counties)  # a county's own size, below one county's worth
        self.members_total = max(n_counties, round(MEMBERS * fraction))
        self.grids_total = max(1, round(GRIDS * fraction))
        counties = [(ci, city, k, county) for ci, (city, names) in enumerate(CITIES) for k, county in enumerate(names)]
        step = len(counties) / n_counties
        self.counties = [counties[int(i * step)] for i in range(n_counties)]

    def _n(self, full: int) -> int:
        return max(1, round(full * self.inner))

    def stage(self, name: str, fn: Callable[[], str]) -> None:
        started = time.perf_counter()
        what = fn()
        seconds = time.perf_counter() - started
        self.stages.append((name, seconds, what))
        self.log(f"  {name}: {seconds:.1f} s — {what}")

    def build(self) -> dict[str, int]:
        if Organisation.objects.exists():
            raise BulkError("the database already has organisations; the province needs an empty database")
        with transaction.atomic():
            keys = DeferredKeys(_filled_models()) if connection.vendor == "postgresql" else None
            if keys is not None:
                self.stage("drop keys and indexes", keys.drop)
            self.stage("organisations", self.build_orgs)
            self.stage("members", self.build_members)
            self.stage("grids", self.build_grids)
            self.stage("pledges", self.build_pledges)
            self.stage("lessons and attendance", self.build_lessons)
            self.stage("cases", self.build_cases)
            if keys is not None:
                self.stage("indexes and foreign keys", keys.restore)
            self.stage("logins", self.build_logins)
            self.stage("sequences", self.finish_sequences)
        if connection.vendor == "postgresql":
            self.stage("analyze", self.analyze)
        self.stage("rollups", self.rollups)
        return self.counts

    # ---- organisations -------------------------------------------------------------------------------------
    def build_orgs(self) -> str:
        rng = self.rng
        table = Table(Organisation, ["id", "code", "name", "kind", "parent", "path", "depth", "full_name", "initials",
                                     "next_child", "address"], now=self.now)
        nodes: list[_Org] = []

        def add(code: str, name: str, kind: str, parent: _Org | None) -> _Org:
            node = _Org(table.new_id(), code, name, kind, parent)
            nodes.append(node)
            return node

        # Members live in branches (and town committees): (org, weight) → members drawn in proportion.
        self.member_orgs: list[tuple[_Org, float, int]] = []  # (org, weight, county index)
        self.villages: list[tuple[_Org, int]] = []  # (village/community, county index)
        self.county_nodes: list[_Org] = []
        self.departments: dict[int, list[_Org]] = {}
        province = add("33", "浙江省", "county", None)
        city_nodes: dict[int, _Org] = {}
        for county_index, (ci, city, k, county_name) in enumerate(self.counties):
            if ci not in city_nodes:
                city_nodes[ci] = add(f"33{ci + 1:02d}", city, "county", province)
            region = f"33{ci + 1:02d}{k + 1:02d}"
            county = add(region, county_name, "county", city_nodes[ci])
            self.county_nodes.append(county)
            prefix = county_name[0]
            depts = []
            for d in range(self._n(DEPARTMENTS)):
                dept = add(f"{region}D{d:03d}", f"{prefix}{DEPARTMENT_NAMES[d % len(DEPARTMENT_NAMES)]}",
                           "department", county)
                depts.append(dept)
                branch = add(f"{region}D{d:03d}B", f"{dept.name}机关党支部", "branch", dept)
                self.member_orgs.append((branch, 1.5, county_index))
            self.departments[county_index] = depts
            for t in range(self._n(TOWNS)):
                town_name = rng.choice(SYLLABLES) + rng.choice(SYLLABLES) + ("镇" if t % 4 else "街道")
                town = add(f"{region}T{t:02d}", town_name, "town" if t % 4 else "street", county)
                committee = add(f"{region}T{t:02d}C", f"中共{town_name}委员会", "committee", town)
                self.member_orgs.append((committee, 0.3, county_index))
                for v in range(self._n(VILLAGES)):
                    is_community = v % 3 == 0
                    vname = rng.choice(SYLLABLES) + rng.choice(SYLLABLES) + ("社区" if is_community else "村")
                    village = add(f"{region}T{t:02d}V{v:02d}", vname, "community" if is_community else "village", town)
                    self.villages.append((village, county_index))
                    general = add(f"{village.code}G", f"{vname}党总支", "general_branch", village)
                    for b in range(BRANCHES):
                        branch = add(f"{village.code}G{b}", f"{vname}第{ORDINALS[b]}党支部", "branch", general)
                        self.member_orgs.append((branch, 1.0, county_index))
                for u in range(self._n(UNITS)):
                    kind, suffix, _w = rng.choices(UNIT_KINDS, weights=[w for *_, w in UNIT_KINDS])[0]
                    uname = f"{town_name}{rng.choice(SYLLABLES)}{rng.choice(SYLLABLES)}{suffix}"
                    unit = add(f"{region}T{t:02d}U{u:03d}", uname, kind, town)
                    branch = add(f"{unit.code}B", f"{uname}党支部", "branch", unit)
                    self.member_orgs.append((branch, 0.5, county_index))
        self.county_regions = [f"33{ci + 1:02d}{k + 1:02d}" for ci, _c, k, _n in self.counties]
        initials = pinyin_initials
        table.write((n.id, n.code, n.name, n.kind, n.parent.id if n.parent else None, n.path, n.depth, n.full_name,
                     initials(n.name), n.children, "") for n in nodes)
        self.org_nodes = nodes
        self.counts["organisations"] = len(nodes)
        assert len(province.path) == SEGMENT
        return f"{len(nodes):,} organisations in {len(self.counties)} counties"

    # ---- members -------------------------------------------------------------------------------------------
    def build_members(self) -> str:
        rng = self.rng
        now = self.now
        persons = Table(Person, ["id", "name", "initials", "gender", "birth_date", "id_number", "phone"], now=now)
        members = Table(Member, ["id", "person", "org", "category", "status", "join_date", "full_date", "education",
                                 "occupation", "on_the_job"], now=now)
        memberships = Table(Membership, ["id", "member", "org", "kind", "start", "reason_in"], now=now)
        # how many members each member organisation gets: its weight's share of its county's members, jittered
        per_county = self.members_total // len(self.counties)
        extra = self.members_total - per_county * len(self.counties)
        by_county: dict[int, list[int]] = {}
        for i, (_org, _w, ci) in enumerate(self.member_orgs):
            by_county.setdefault(ci, []).append(i)
        sizes = [0] * len(self.member_orgs)
        for ci, idx in by_county.items():
            target = per_county + (1 if ci < extra else 0)
            weights = [self.member_orgs[i][1] * rng.uniform(0.6, 1.4) for i in idx]
            total = sum(weights)
            counts = [int(target * w / total) for w in weights]
            for j in range(target - sum(counts)):
                counts[j % len(counts)] += 1
            for i, c in zip(idx, counts, strict=True):
                sizes[i] = c
        self.ranges: list[tuple[int, int]] = []  # per member organisation: first member id, count
        first_member = members.next_id
        self.first_member = first_member
        self.person_offset = persons.next_id - first_member
        surname_initials = {s: initials(s) for s in SURNAMES}
        given_m = [(g, initials(g)) for g in _given(GIVEN_M)]
        given_f = [(g, initials(g)) for g in _given(GIVEN_F)]
        day0 = dt.date(1940, 1, 1).toordinal()
        span = dt.date(2004, 12, 31).toordinal() - day0
        latest_join = DEMO_TODAY.toordinal() - 30
        p_rows: list[tuple] = []
        m_rows: list[tuple] = []
        s_rows: list[tuple] = []
        seqs: dict[tuple[int, int], int] = {}
        last_county = -1
        random_ = rng.random
        randrange = rng.randrange
        choice = rng.choice
        for (org, _w, ci), size in zip(self.member_orgs, sizes, strict=True):
            if ci != last_county:
                seqs.clear()
                last_county = ci
                region = self.county_regions[ci]
            self.ranges.append((members.next_id, size))
            for _ in range(size):
                mid = members.new_id()
                pid = mid + self.person_offset
                male = random_() < 0.7
                surname = choice(SURNAMES)
                given, given_initials = choice(given_m if male else given_f)
                birth_ord = day0 + randrange(span)
                key = (birth_ord, male)
                seq = seqs.get(key, 0)
                seqs[key] = seq + 1
                birth = dt.date.fromordinal(birth_ord)
                first17 = f"{region}{birth:%Y%m%d}{seq * 2 + (1 if male else 2):03d}"
                p_rows.append((pid, surname + given, surname_initials[surname] + given_initials, "M" if male else "F",
                               birth, first17 + id_check_char(first17), f"1{choice('35789')}{randrange(10**9):09d}"))
                adult = birth_ord + 6575  # 18 years (and a few days)
                join_ord = adult + randrange(max(1, latest_join - adult))
                join = dt.date.fromordinal(join_ord)
                probationary = join_ord > latest_join - 365 or random_() < 0.02
                r = random_()
                status = "retired" if birth.year < 1962 and r < 0.8 else "flowing" if r < 0.03 else \
                    "limited_mobility" if r < 0.04 else "active"
                m_rows.append((mid, pid, org.id, "probationary" if probationary else "full", status, join,
                               None if probationary else dt.date.fromordinal(join_ord + 365), choice(EDUCATION),
                               "离退休人员" if status == "retired" else choice(OCCUPATIONS), status != "retired"))
                s_rows.append((memberships.new_id(), mid, org.id, "primary", join, "入党"))
                if len(m_rows) >= CHUNK:
                    _flush((persons, p_rows), (members, m_rows), (memberships, s_rows))
        _flush((persons, p_rows), (members, m_rows), (memberships, s_rows))
        self.counts.update(persons=persons.written, members=members.written, memberships=memberships.written)
        return f"{persons.written:,} persons, {members.written:,} members, {memberships.written:,} memberships"


    # ---- grids ---------------------------------------------------------------------------------------------
    def build_grids(self) -> str:
        rng = self.rng
        table = Table(Grid, ["id", "org", "seq", "code", "name", "is_default", "boundary", "min_lat", "max_lat",
                             "min_lng", "max_lng"], now=self.now)
        n_villages = len(self.villages)
        base, extra = divmod(max(self.grids_total, n_villages), n_villages)
        self.grids: list[tuple[int, int, int]] = []  # (grid id, village id, county index)
        rows = []
        block = 0.018
        for v, (village, ci) in enumerate(self.villages):
            n = base + (1 if v < extra else 0)
            lat0 = 27.0 + (v // 300) * block
            lng0 = 118.0 + (v % 300) * block
            width = block / n
            for s in range(1, n + 1):
                gid = table.new_id()
                a, b = lng0 + (s - 1) * width, lng0 + s * width
                c, d = lat0, lat0 + block * rng.uniform(0.8, 1.0)
                boundary = {"type": "Polygon", "coordinates": [[[a, c], [b, c], [b, d], [a, d], [a, c]]]}
                rows.append((gid, village.id, s, f"{village.code}{s:03d}", f"{village.name}第{s}网格", s == 1,
                             table.json(boundary), c, d, a, b))
                self.grids.append((gid, village.id, ci))
            if len(rows) >= CHUNK:
                _flush((table, rows))
        _flush((table, rows))
        self.counts["grids"] = table.written
        return f"{table.written:,} grids in {n_villages:,} villages and communities"

    # ---- pledges -------------------------------------------------------------------------------------------
    def build_pledges(self) -> str:
        rng = self.rng
        year = DEMO_TODAY.year
        start, end = dt.date(year, 3, 1), dt.date(year, 12, 31)
        counties = Organisation.objects.in_bulk([c.id for c in self.county_nodes])
        rounds = [pledge_services.round_create(name=f"{year}年创先争优“公开承诺”", year=year, org=counties[c.id],
                                               start=start, end=end, template_min_members=5,
                                               specificity_threshold=0.4).pk
                  for c in self.county_nodes]
        pledges = Table(Pledge, ["id", "round", "member", "org", "status", "due_date", "progress", "published_on",
                                 "evidence", "fulfilled_on", "specificity"], now=self.now)
        items = Table(PledgeItem, ["id", "pledge", "position", "kind", "text", "due_date", "review", "specificity"],
                      now=self.now)
        states = (["fulfilled"] * 465 + ["not_fulfilled"] * 30 + ["claimed"] * 20 + ["in_progress"] * 340
                  + ["published"] * 80 + ["submitted"] * 25 + ["returned"] * 10 + ["approved"] * 10 + ["draft"] * 20)
        published = {"published", "in_progress", "claimed", "fulfilled", "not_fulfilled"}
        progress = {"fulfilled": 100, "not_fulfilled": 60, "claimed": 100, "in_progress": 50}
        days = (end - start).days
        p_rows: list[tuple] = []
        i_rows: list[tuple] = []
        choice, randrange = rng.choice, rng.randrange
        kinds = ["vanguard", "post", "service", "service"]
        for (org, _w, ci), (first, size) in zip(self.member_orgs, self.ranges, strict=True):
            unit = org.name
            round_id = rounds[ci]
            for mid in range(first, first + size):
                status = choice(states)
                pid = pledges.new_id()
                n_items = choice((1, 2, 2, 3))
                due = start
                for pos in range(1, n_items + 1):
                    item_due = start + dt.timedelta(days=60 + randrange(days - 60))
                    due = max(due, item_due)
                    text = choice(ITEM_TEXTS).format(u=unit, n=2 + randrange(9), d=choice("一二三四五六"))
                    i_rows.append((items.new_id(), pid, pos, choice(kinds), text, item_due,
                                   "pending" if status in ("draft", "submitted") else "ok", 0.7))
                fulfilled = status == "fulfilled"
                p_rows.append((pid, round_id, mid, org.id, status, due,
                               progress.get(status, 0), start + dt.timedelta(days=20) if status in published else None,
                               "已按承诺完成，群众认可" if fulfilled else "",
                               min(due, DEMO_TODAY) - dt.timedelta(days=randrange(30)) if fulfilled else None, 0.7))
                if len(p_rows) >= CHUNK:
                    _flush((pledges, p_rows), (items, i_rows))
        _flush((pledges, p_rows), (items, i_rows))
        self.counts.update(pledges=pledges.written, pledge_items=items.written)
        return f"{len(rounds)} rounds, {pledges.written:,} pledges, {items.written:,} items"

    # ---- lessons -------------------------------------------------------------------------------------------
    def build_lessons(self) -> str:
        rng = self.rng
        activities = Table(Activity, ["id", "kind", "title", "org", "starts_at", "ends_at", "place", "audience",
                                      "lecturer", "topic", "status"], now=self.now)
        attendances = Table(Attendance, ["id", "activity", "person", "member", "member_expected", "method",
                                         "check_in_at"], now=self.now)
        n_members = sum(size for _f, size in self.ranges)
        n_lessons = max(1, round(n_members * LESSONS_PER_MEMBER))
        cumulative = []
        total = 0
        for _first, size in self.ranges:
            total += size
            cumulative.append(total)
        # branches are drawn in proportion to their size, so a lesson's expected branch size is Σ size² / Σ size
        drawn_size = sum(size * size for _f, size in self.ranges) / max(1, total)
        share = min(1.0, n_members * ATTENDANCE_PER_MEMBER / (n_lessons * drawn_size))  # of the branch, per lesson
        a_rows: list[tuple] = []
        t_rows: list[tuple] = []
        offset = self.person_offset
        for _ in range(n_lessons):
            k = _bisect(cumulative, rng.randrange(total))  # a branch, in proportion to its members
            org = self.member_orgs[k][0]
            first, size = self.ranges[k]
            aid = activities.new_id()
            starts = self.year_start + dt.timedelta(days=rng.randrange(360), hours=rng.choice((9, 14, 19)))
            topic = rng.choice(TOPICS)
            a_rows.append((aid, "lesson", f"党课：{topic}", org.id, starts, starts + dt.timedelta(minutes=90),
                           f"{org.name}党员活动室", "subtree", rng.choice(SURNAMES) + "书记", topic, "planned"))
            attendees = rng.sample(range(first, first + size), round(size * share))
            for mid in attendees:
                t_rows.append((attendances.new_id(), aid, mid + offset, mid, True,
                               "rotating_qr" if rng.random() < 0.85 else "manual",
                               starts - dt.timedelta(seconds=rng.randrange(1200))))
            if len(t_rows) >= CHUNK:
                _flush((activities, a_rows), (attendances, t_rows))
        _flush((activities, a_rows), (attendances, t_rows))
        self.counts.update(lessons=activities.written, attendances=attendances.written)
        return f"{activities.written:,} lessons, {attendances.written:,} attendances"

    # ---- cases ---------------------------------------------------------------------------------------------
    def build_cases(self) -> str:
        rng = self.rng
        now = self.now
        for day, name in HOLIDAYS_2026:
            grid_services.calendar_day_set(date=day, is_workday=False, name=name)
        for day, name in WORKED_WEEKENDS_2026:
            grid_services.calendar_day_set(date=day, is_workday=True, name=name)
        existing = {c.code: c for c in CaseCategory.objects.all()}
        categories = [existing.get(code) or grid_services.category_create(
            code=code, name=name, group=group, deadline_kind=kind, deadline_value=value,
            description=f"{group}：{name}", keywords=name) for code, name, group, kind, value, _dept in CATALOGUE]
        calendar = load_calendar()
        cases = Table(Case, ["id", "number", "org", "grid", "category", "description", "address", "latitude",
                             "longitude", "source", "reporter_name", "status", "handling_unit", "dispatched_at",
                             "accept_due_at", "due_at", "escalate_at", "closed_at", "closed_on_time", "outcome",
                             "rating", "rated_at", "created_at", "updated_at"], now=now)
        events = Table(CaseEvent, ["id", "case", "at", "kind", "from_status", "to_status", "unit", "note", "level"],
                       now=now)
        n_members = sum(size for _f, size in self.ranges)
        n_cases = max(1, round(n_members * CASES_PER_MEMBER))
        sources = ["portal"] * 5 + ["staff"] * 3 + ["visit", "open311"]
        places = ("小区门口", "菜场旁", "河边", "学校附近", "主路口", "老旧小区楼道", "村道")
        c_rows: list[tuple] = []
        e_rows: list[tuple] = []
        grids = self.grids
        span = 365 * 86400
        for i in range(n_cases):
            gid, village_id, _ci = grids[rng.randrange(len(grids))]
            cat = rng.choices(categories, weights=CATEGORY_WEIGHTS)[0]
            created = self.year_start + dt.timedelta(seconds=rng.randrange(span))
            due = deadline(cat.deadline_kind, cat.deadline_value, created, calendar)
            cid = cases.new_id()
            steps = [("open", "", "opened", created, None), ("dispatch", "opened", "dispatched", created, village_id)]
            t = created + dt.timedelta(hours=rng.uniform(0.2, cat.accept_hours))
            window = max(due - created, dt.timedelta(hours=2))
            closed_at = closed_on_time = rated_at = escalate_at = None
            outcome = rating = ""
            if t > now:
                status = "dispatched"
                escalate_at = created + dt.timedelta(hours=cat.accept_hours)
            else:
                steps += [("accept", "dispatched", "accepted", t, None),
                          ("start", "accepted", "handling", t + dt.timedelta(minutes=10), None)]
                late = rng.random() < 0.05
                closed = t + (window * rng.uniform(1.05, 1.6) if late else
                              max(due - t, dt.timedelta(minutes=40)) * rng.uniform(0.2, 0.95))
                if closed > now:
                    status = "handling"
                    escalate_at = due
                else:
                    steps += [("report", "handling", "reported", closed - dt.timedelta(minutes=20), None),
                              ("verify", "reported", "verified", closed - dt.timedelta(minutes=10), None),
                              ("close", "verified", "closed", closed, None)]
                    status, closed_at, closed_on_time = "closed", closed, closed <= due
                    outcome = "resolved" if rng.random() < 0.93 else "explained"
                    if rng.random() < 0.7:
                        r = rng.random()
                        rating = "satisfied" if r < 0.82 else "basic" if r < 0.96 else "unsatisfied"
                        rated_at = closed + dt.timedelta(hours=rng.uniform(1, 48))
                        steps.append(("rate", "closed", "closed", rated_at, None))
            c_rows.append((cid, f"{created:%Y}P{i + 1:09d}", village_id, gid, cat.pk,
                           f"{cat.name}：{rng.choice(places)}", "", None, None, rng.choice(sources),
                           rng.choice(SURNAMES) + rng.choice(GIVEN_M), status, village_id, created,
                           created + dt.timedelta(hours=cat.accept_hours), due, escalate_at, closed_at,
                           closed_on_time, outcome, rating, rated_at, created, max(s[3] for s in steps)))
            for kind, frm, to, at, unit in steps:
                e_rows.append((events.new_id(), cid, at, kind, frm, to, unit, "", 0 if kind == "dispatch" else None))
            if len(c_rows) >= CHUNK:
                _flush((cases, c_rows), (events, e_rows))
        _flush((cases, c_rows), (events, e_rows))
        self.counts.update(cases=cases.written, case_events=events.written)
        return f"{cases.written:,} cases, {events.written:,} case events"

    # ---- logins --------------------------------------------------------------------------------------------
    def build_logins(self) -> str:
        orgs = Organisation.objects.in_bulk([self.org_nodes[0].id, self.county_nodes[0].id])
        province, county = orgs[self.org_nodes[0].id], orgs[self.county_nodes[0].id]
        village = Organisation.objects.get(pk=self.villages[0][0].id)
        general = Organisation.objects.get(parent=village, kind="general_branch")
        member = Member.objects.filter(org__parent=general).select_related("person", "org").order_by("id").first()
        logins = [("province_admin", "county_admin", province, None),
                  ("province_county_admin", "county_admin", county, None),
                  ("province_secretary", "secretary", general, None)]
        if member is not None:
            logins.append(("province_member", "member", member.org, member.person))
        for username, kind, org, person in logins:
            user = org_services.user_create(username=username, password=DEMO_PASSWORD, person=person)
            org_services.role_grant(user=user, kind=kind, org=org)
        return ", ".join(u for u, *_ in logins) + f" (password {DEMO_PASSWORD})"

    def finish_sequences(self) -> str:
        model_list = _filled_models()
        _reset_sequences(model_list)
        return f"{len(model_list)} tables"

    def analyze(self) -> str:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return "planner statistics"

    def rollups(self) -> str:
        from django.core.management import call_command, get_commands

        if "rollups_rebuild" not in get_commands():
            return "no rollups_rebuild command; skipped"
        call_command("rollups_rebuild")
        return "rollups_rebuild"


def _flush(*batches: tuple[Table, list[tuple]]) -> None:
    """Write each table's pending rows (parents before children, in the order given) and empty the lists."""
    for table, rows in batches:
        table.write(rows)
        rows.clear()


def _given(text: str) -> list[str]:
    """Given names from a run of characters: each single character, and each pair."""
    singles = list(dict.fromkeys(text))
    pairs = [text[i:i + 2] for i in range(0, len(text) - 1, 2)]
    return singles + pairs


def _bisect(cumulative: list[int], x: int) -> int:
    from bisect import bisect_right

    return bisect_right(cumulative, x)


def initials(text: str) -> str:
    return pinyin_initials(text)[:30]


def build_province(*, seed: int = 2010, fraction: float = 1.0, log: Callable[[str], None] = print) -> ProvinceBuilder:
    """Build the province dataset into the (empty, migrated) database; returns the builder with its stage times."""
    builder = ProvinceBuilder(seed=seed, fraction=fraction, log=log)
    builder.build()
    return builder
