"""`python -m wacloud.cli`: the same as the `wacloud` command."""

import sys

from wacloud.cli import main

sys.exit(main())
