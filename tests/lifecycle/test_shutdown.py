"""videos.shutdown finds the cluster's stop event without waking anything up."""
from __future__ import annotations

from openai._utils._proxy import LazyProxy

from videos import shutdown


class _Recorder(LazyProxy[object]):
    """Like the openai package's module-level proxies (``openai.beta``...), which import and
    build a client the first time anything asks for their ``__class__``."""

    loads = 0

    def __load__(self) -> object:
        type(self).loads += 1
        return object()


def test_looking_for_the_stop_event_loads_no_lazy_proxy() -> None:
    proxy = _Recorder()  # alive, so the walk over every object meets it
    assert shutdown._stop_event.__wrapped__() is None  # not in a worker: no sentinel
    assert _Recorder.loads == 0
    assert proxy.__class__ is object  # the proxy does answer when asked, so the check above means something
    assert _Recorder.loads == 1
