"""The app under a prefix, as another site would install it."""
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", admin.site.login, name="login"),
    path("accounts/logout/", admin.site.logout, name="logout"),
    path("team/videos/", include("videos.urls")),
]
