"""The ``manage.py sora`` command line: subcommand bodies, input parsing, output.

Everything here goes through :mod:`videos.services` and :mod:`videos.sequences`; the
management command (``videos/management/commands/sora.py``) only builds the parser and
dispatches. ``docs/cli.md`` documents every subcommand.

Exit codes: 0 success; 1 a video, row or stitch failed (or needs attention); 2 the input
was refused before any remote call (or a usage error); 3 still running after --timeout.
"""

EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_TIMEOUT = 3
