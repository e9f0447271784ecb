#!/usr/bin/env python3
"""Run a facility-location scenario: ``python run_scenario.py scenarios/poa_clinics.yaml``.

See ``python run_scenario.py --help`` and README.md.
"""

import sys

from allocator.cli import main

if __name__ == "__main__":
    sys.exit(main())
