"""``python -m statemachine_engine.database.cli``: the same as ``statemachine-db``."""

import sys

from ._main import main

sys.exit(main())
