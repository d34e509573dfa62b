"""``python -m observatory_dev.faults`` (``make faults``): every fault case, as a table."""

import sys

from observatory_dev.faults.lab import main

sys.exit(main())
