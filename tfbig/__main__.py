"""`python -m tfbig` is the `tfbig` command."""
import sys

from tfbig.cli import main

sys.exit(main())
