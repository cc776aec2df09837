"""The REST API (Django REST framework): ``path("api/", include("videos.api.urls"))``.

Every call goes through :mod:`videos.services` and the one policy (:mod:`videos.policy`,
:mod:`videos.visibility`), so permissions, project visibility, budgets, approval and "one
paid create per job" hold exactly as in the gallery. See docs/api.md.
"""
