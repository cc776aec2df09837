"""A local stand-in for the OpenAI Videos API (Sora 2) and the servers that copy it.

The emulator runs as its own process (``python -m videos.emulator``) and imports only
the standard library, Pillow, PyAV and :mod:`videos.presets`, never Django, so the
test suite and benchmarks can start it without a configured project.
"""
