"""URLconf for bench_pages: the project's URLs plus the naive gallery it is compared with."""
from django.urls import include, path

from bench.bench_pages import naive_gallery

urlpatterns = [
    path("naive/", naive_gallery, name="naive_gallery"),
    path("", include("sora_project.urls")),
]
