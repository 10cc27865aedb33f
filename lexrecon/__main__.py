import sys

from lexrecon.cli import main

sys.exit(main())
