"""WSGI entry point (gunicorn sora_project.wsgi).

What Django loads at a worker's first request (the URLconf with the API and schema modules
behind it, the models' relation graph) and the task broker's client are loaded here
instead, so no visitor and no provider's webhook waits about half a second for it in each
new worker; under gunicorn's ``--preload`` it is loaded once for all of them
(bench/bench_tracking.py measured it).
"""
import os

from django.apps import apps
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sora_project.settings")
application = get_wsgi_application()

from videos import queue  # noqa: E402  (the app registry is ready only now)

get_resolver().url_patterns  # noqa: B018  imports the URLconf and every view module
for _model in apps.get_models():
    _model._meta.related_objects  # noqa: B018  builds the relation graph deletes and joins use
queue.broker()  # imports the broker's client library and makes the client tasks are queued through
