"""``python -m sim`` runs the annotator simulator (same as ``python -m sim.annotators``)."""

import sys

from sim.annotators import main

sys.exit(main())
