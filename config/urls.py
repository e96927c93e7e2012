from django.contrib import admin
from django.urls import include, path, re_path

from orders.api import api
from orders.middleware import api_route_not_found

urlpatterns = [
    path("api/v1/", api.urls),
    # Anything else under /api/ answers with the API's error envelope, never Django's HTML 404.
    re_path(r"^api/", api_route_not_found),
    path("admin/", admin.site.urls),
    path("", include("dashboard.urls")),
]
