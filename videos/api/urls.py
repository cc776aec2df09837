"""``path("api/", include("videos.api.urls"))``: videos at ``videos/``, the cost estimate at
``estimate/``, the OpenAPI 3 schema at ``schema/`` (DRF's browsable pages on every endpoint)."""
from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from .views import EstimateView, VideoViewSet

app_name = "videos_api"

router = DefaultRouter()
router.register("videos", VideoViewSet, basename="video")

urlpatterns = [
    path("estimate/", EstimateView.as_view(), name="estimate"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    *router.urls,
]
