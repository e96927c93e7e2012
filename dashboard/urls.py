from django.urls import path

from dashboard.views import (
    auth,
    history,
    notes,
    order_actions,
    orders,
    overview,
    saved_views,
    stores,
    webhooks,
)

app_name = "dashboard"

urlpatterns = [
    path("", stores.store_picker, name="home"),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("stores/<slug:store_slug>/", overview.store_overview, name="store_overview"),
    path("stores/<slug:store_slug>/orders/", orders.order_list, name="order_list"),
    path("stores/<slug:store_slug>/orders/export.csv", orders.order_export, name="order_export"),
    # Saved views of the orders list (before <order_id>: "views" is not an order).
    path("stores/<slug:store_slug>/orders/views/", saved_views.saved_view_manage, name="saved_view_manage"),
    path(
        "stores/<slug:store_slug>/orders/views/new/",
        saved_views.saved_view_create_page,
        name="saved_view_create",
    ),
    path(
        "stores/<slug:store_slug>/orders/views/default/",
        saved_views.saved_view_default,
        name="saved_view_default",
    ),
    path(
        "stores/<slug:store_slug>/orders/views/<int:view_id>/",
        saved_views.saved_view_edit,
        name="saved_view_edit",
    ),
    path(
        "stores/<slug:store_slug>/orders/views/<int:view_id>/delete/",
        saved_views.saved_view_delete,
        name="saved_view_delete",
    ),
    path(
        "stores/<slug:store_slug>/orders/views/<int:view_id>/move/",
        saved_views.saved_view_move_page,
        name="saved_view_move",
    ),
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
    # Staff notes on the order page's timeline (dashboard/notes.py).
    path("stores/<slug:store_slug>/orders/<str:order_id>/notes/", notes.note_add, name="order_note_add"),
    path(
        "stores/<slug:store_slug>/orders/<str:order_id>/notes/<int:note_id>/edit/",
        notes.note_edit,
        name="order_note_edit",
    ),
    path(
        "stores/<slug:store_slug>/orders/<str:order_id>/notes/<int:note_id>/delete/",
        notes.note_delete,
        name="order_note_delete",
    ),
    # Audit view (the store's history feed) and its CSV.
    path("stores/<slug:store_slug>/audit/", history.history_list, name="history_list"),
    path("stores/<slug:store_slug>/audit/export.csv", history.history_export, name="history_export"),
    # Webhooks (admins).
    path("stores/<slug:store_slug>/webhooks/", webhooks.webhook_list, name="webhook_list"),
    path("stores/<slug:store_slug>/webhooks/new/", webhooks.webhook_create, name="webhook_create"),
    path(
        "stores/<slug:store_slug>/webhooks/<str:webhook_id>/", webhooks.webhook_detail, name="webhook_detail"
    ),
    path(
        "stores/<slug:store_slug>/webhooks/<str:webhook_id>/edit/", webhooks.webhook_edit, name="webhook_edit"
    ),
    path(
        "stores/<slug:store_slug>/webhooks/<str:webhook_id>/delete/",
        webhooks.webhook_delete,
        name="webhook_delete",
    ),
    path(
        "stores/<slug:store_slug>/webhooks/<str:webhook_id>/toggle/",
        webhooks.webhook_toggle,
        name="webhook_toggle",
    ),
    path(
        "stores/<slug:store_slug>/webhooks/<str:webhook_id>/rotate-secret/",
        webhooks.webhook_rotate_secret,
        name="webhook_rotate_secret",
    ),
    path(
        "stores/<slug:store_slug>/webhooks/<str:webhook_id>/test/", webhooks.webhook_test, name="webhook_test"
    ),
    path(
        "stores/<slug:store_slug>/webhooks/<str:webhook_id>/deliveries/<str:delivery_id>/retry/",
        webhooks.webhook_delivery_retry,
        name="webhook_delivery_retry",
    ),
]

# Bulk jobs (issue 13): start from the orders list's selection, watch, cancel, resume, results as CSV;
# the tracking-number upload; the selection as CSV.
from dashboard.views import jobs as bulk_jobs  # noqa: E402 - kept with its routes to ease merging

urlpatterns += [
    path("stores/<slug:store_slug>/jobs/", bulk_jobs.job_list, name="job_list"),
    path("stores/<slug:store_slug>/jobs/new/", bulk_jobs.job_new, name="job_new"),
    path("stores/<slug:store_slug>/jobs/tracking/", bulk_jobs.tracking_upload, name="tracking_upload"),
    path("stores/<slug:store_slug>/jobs/<int:job_id>/", bulk_jobs.job_detail, name="job_detail"),
    path(
        "stores/<slug:store_slug>/jobs/<int:job_id>/results.csv",
        bulk_jobs.job_results_csv,
        name="job_results_csv",
    ),
    path("stores/<slug:store_slug>/jobs/<int:job_id>/cancel/", bulk_jobs.job_cancel_view, name="job_cancel"),
    path("stores/<slug:store_slug>/jobs/<int:job_id>/resume/", bulk_jobs.job_resume_view, name="job_resume"),
    path(
        "stores/<slug:store_slug>/orders/selection.csv", bulk_jobs.selection_export, name="selection_export"
    ),
]
