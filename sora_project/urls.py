from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from videos.views.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),  # for load balancers: 200 or 503, JSON, no secrets
    # Team members sign in here (the admin's login admits staff only).
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("videos.urls")),
]
