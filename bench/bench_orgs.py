"""Subtree member counts and the member list page at demo scale (SQLite).

Goals: member count of a subtree (county root, a town) ≤ 20 ms; member list, county admin, first page: p95 ≤ 50 ms
server time, and the number of queries does not grow with page size.
"""

from bench.common import ensure_demo_db, percentile, setup_django, summary, timed, verdict


def main() -> None:
    setup_django()
    ensure_demo_db()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from xianfeng.orgs.models import Member, Organisation, User

    county = Organisation.objects.get(code="330424")
    town = Organisation.objects.get(name="武原镇")
    for org in (county, town):
        def count(org=org):
            return Member.objects.in_subtree(org).count()
        n = count()
        times = timed(count, 50)
        p95 = percentile(times, 95)
        print(f"member count of {org.name} subtree ({n:,} members): {summary(times)}; goal ≤ 20 ms "
              f"— {verdict(p95, 20)} (ratio {p95 / 20:.2f})")

    client = Client()
    client.force_login(User.objects.get(username="county_admin"))
    url = "/orgs/members/"
    client.get(url)  # warm up
    times = timed(lambda: client.get(url), 100)
    p95 = percentile(times, 95)
    print(f"member list page, county admin, first page: {summary(times)}; goal p95 ≤ 50 ms — {verdict(p95, 50)} "
          f"(ratio {p95 / 50:.2f})")
    counts = []
    for size in (20, 50, 200):
        with CaptureQueriesContext(connection) as ctx:
            client.get(url, {"per_page": size})
        counts.append((size, len(ctx.captured_queries)))
    print("queries per member list page by page size: " + ", ".join(f"{s}→{q}" for s, q in counts))


if __name__ == "__main__":
    main()
