"""``python -m archiver``: the same as the ``archiver`` command."""

import sys

from .cli.app import main

sys.exit(main())
