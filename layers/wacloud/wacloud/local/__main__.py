"""`python -m wacloud.local` is `wacloud local`."""

import sys

from wacloud.cli import main

sys.exit(main(["local", *sys.argv[1:]]))
