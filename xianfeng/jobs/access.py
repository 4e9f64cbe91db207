"""Who counts as a system administrator for system-wide pages (the job queue, the SMS outbox): defined in core
(`core.scoping.is_system_admin`, beside the scopes it is cached with), so core's pages need not import this app."""

from xianfeng.core.scoping import is_system_admin

__all__ = ["is_system_admin"]
