"""What orgs tells the modules above it, without importing them.

    visit_recorded(sender=GuidanceVisit, visit=, actor=)   a guidance visit was recorded (inside its transaction):
                                                           campaigns turns its 后续事项 into follow-up tasks
"""

from django.dispatch import Signal

visit_recorded = Signal()
