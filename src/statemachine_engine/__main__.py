"""``python -m statemachine_engine CONFIG.yaml`` runs a machine, like ``statemachine``."""

import sys

from .cli import main

sys.exit(main())
