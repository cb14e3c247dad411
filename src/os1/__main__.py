import sys

from os1.cli.main import main

sys.exit(main())
