"""The demo county: Haiyan County (海盐县) at the report's scale, the same every time for a seed.

Each app contributes a step with `@demo_step(order)`; `xianfeng demo` runs them in order inside one context object
that carries the seed's random generator and what earlier steps built (organisations by code, users, …).
Steps write through the service functions, or through a documented bulk path that applies the same rules.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from faker import Faker

DEMO_PASSWORD = "demo12345"
# The demo's "today": fixed so a seed always gives the same county. Dates in the data lie before it.
DEMO_TODAY = dt.date(2026, 9, 30)

_STEPS: list[tuple[int, str, Callable[[DemoContext], None]]] = []


def demo_step(order: int) -> Callable[[Callable[[DemoContext], None]], Callable[[DemoContext], None]]:
    """Register a function as a demo step; lower orders run first (the foundation is 100)."""

    def register(fn: Callable[[DemoContext], None]) -> Callable[[DemoContext], None]:
        _STEPS.append((order, f"{fn.__module__}.{fn.__name__}", fn))
        return fn

    return register


@dataclass
class DemoContext:
    seed: int
    scale: float = 1.0
    log: Callable[[str], None] = print
    rng: random.Random = field(init=False)
    faker: Faker = field(init=False)
    orgs: dict[str, Any] = field(default_factory=dict)  # code → Organisation
    users: dict[str, Any] = field(default_factory=dict)  # username → User
    data: dict[str, Any] = field(default_factory=dict)  # anything a later step needs from an earlier one

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.faker = Faker("zh_CN")
        self.faker.seed_instance(self.seed)

    def person_name(self, gender: str) -> str:
        """A Chinese name whose given name fits the gender ("M"/"F"); Faker's zh_CN name_male/name_female don't."""
        from faker.providers.person.zh_CN import Provider

        given = Provider.first_names_male if gender == "M" else Provider.first_names_female
        return self.faker.last_name() + self.rng.choice(given)


def steps() -> list[tuple[int, str, Callable[[DemoContext], None]]]:
    from django.apps import apps

    # Import each app's demo module so its steps register.
    for config in apps.get_app_configs():
        if config.name.startswith("xianfeng."):
            try:
                __import__(f"{config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.demo":
                    raise
    return sorted(_STEPS, key=lambda s: (s[0], s[1]))


def run_demo(*, seed: int = 2010, scale: float = 1.0, log: Callable[[str], None] = print) -> DemoContext:
    import time

    ctx = DemoContext(seed=seed, scale=scale, log=log)
    seen = set()
    for _order, name, fn in steps():
        if name in seen:
            continue
        seen.add(name)
        started = time.perf_counter()
        fn(ctx)
        log(f"  {name.rsplit('.', 2)[-2]}.{fn.__name__}: {time.perf_counter() - started:.1f} s")
    return ctx
