"""`python main.py` is the same as `genstudio`."""
import sys

from studio.core.cli import main

if __name__ == "__main__":
    sys.exit(main())
