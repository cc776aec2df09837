"""URLs of the videos app: ``path("", include("videos.urls"))`` in the site's urls.py."""
from django.urls import path

from .views import webhooks

app_name = "videos"

urlpatterns = [
    path("webhooks/<str:provider>/", webhooks.webhook, name="webhook"),
]
