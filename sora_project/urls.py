from django.contrib import admin
from django.urls import include, path

from videos.views.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),  # for load balancers: 200 or 503, JSON, no secrets
    path("api/", include("videos.api.urls")),
    path("", include("videos.urls")),
]
