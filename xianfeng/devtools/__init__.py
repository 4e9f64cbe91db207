"""Development tooling that sits on top of every app (benchmark datasets). Nothing in the product imports it; the
`xianfeng demo --scale province` command runs it."""
