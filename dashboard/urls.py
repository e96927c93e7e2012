from django.urls import path

from dashboard.views import auth, order_actions, orders, stores

app_name = "dashboard"

urlpatterns = [
    path("", stores.store_picker, name="home"),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("stores/<slug:store_slug>/orders/", orders.order_list, name="order_list"),
    path("stores/<slug:store_slug>/orders/export.csv", orders.order_export, name="order_export"),
    path("stores/<slug:store_slug>/orders/<str:order_id>/", orders.order_detail, name="order_detail"),
    # Order actions (dialogs on the order page; each also works as a page of its own without JavaScript).
    path(
        "stores/<slug:store_slug>/orders/<str:order_id>/status/",
        order_actions.order_status_update,
        name="order_status_update",
    ),
    path(
        "stores/<slug:store_slug>/orders/<str:order_id>/cancel/",
        order_actions.order_cancel,
        name="order_cancel",
    ),
    path(
        "stores/<slug:store_slug>/orders/<str:order_id>/refund/",
        order_actions.order_refund,
        name="order_refund",
    ),
    path("stores/<slug:store_slug>/orders/<str:order_id>/link/", order_actions.order_link, name="order_link"),
    path(
        "stores/<slug:store_slug>/orders/<str:order_id>/metadata/",
        order_actions.order_metadata_edit,
        name="order_metadata_edit",
    ),
]
