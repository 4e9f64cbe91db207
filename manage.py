#!/usr/bin/env python
from xianfeng.cli import main

main()
