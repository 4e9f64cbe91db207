"""Xianfeng (先锋): a county's grassroots campaign and the supervision of it."""
