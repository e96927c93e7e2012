from django.urls import path

from dashboard.views import auth, orders, stores

app_name = "dashboard"

urlpatterns = [
    path("", stores.store_picker, name="home"),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("stores/<slug:store_slug>/orders/", orders.order_list, name="order_list"),
    path("stores/<slug:store_slug>/orders/export.csv", orders.order_export, name="order_export"),
    path("stores/<slug:store_slug>/orders/<str:order_id>/", orders.order_detail, name="order_detail"),
]
