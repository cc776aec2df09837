"""``python -m videos.emulator``: run the emulator until SIGTERM/SIGINT."""

import sys

from videos.emulator.cli import main

sys.exit(main())
