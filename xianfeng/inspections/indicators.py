"""The supervision side's indicators (xianfeng.core.indicators): inspections, findings, rectifications. Small tables,
counted live."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xianfeng.core.indicators import Indicator, Measure, link, on_today, register

INSPECTIONS = Measure("inspections", "inspections.Inspection", "org_id", on_today(), rolled=False, snapshot=True)
FINDINGS = Measure("findings", "inspections.Finding", "inspection__org_id", on_today(),
                   lambda t: ~Q(status="dropped"), rolled=False, snapshot=True)
ACCEPTED = Measure("findings_accepted", "inspections.Finding", "inspection__org_id", on_today(),
                   lambda t: Q(status="accepted"), rolled=False, snapshot=True)
RECTIFICATIONS = Measure("rectifications", "inspections.Rectification", "org_id", on_today(), rolled=False,
                         snapshot=True)
OPEN_RECTIFICATIONS = Measure("rectifications_open", "inspections.Rectification", "org_id", on_today(),
                              lambda t: ~Q(status="closed"), rolled=False, snapshot=True)

register(Indicator("inspections.inspections", _("Inspections"), INSPECTIONS, section="supervision", order=10,
                   page_url=lambda o: link("inspections:list")))
register(Indicator("inspections.findings_accepted", _("Findings accepted"), ACCEPTED, FINDINGS,
                   _("findings drafted"), section="supervision", order=20,
                   page_url=lambda o: link("inspections:list")))
register(Indicator("inspections.rectifications_open", _("Open rectifications"), OPEN_RECTIFICATIONS, RECTIFICATIONS,
                   _("rectifications"), section="supervision", order=30,
                   page_url=lambda o: link("inspections:my_rectifications")))
