"""``python -m analytics.cli ...``: the same as the ``pcnqi`` console script."""
import sys

from analytics.cli.commands import main

sys.exit(main())
