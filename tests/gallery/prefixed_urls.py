"""The app under a prefix, as another site would install it."""
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("team/videos/", include("videos.urls")),
]
