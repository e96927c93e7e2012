"""The tracking-number upload: header spellings and delimiters, a preview per row (which order, may it
ship, why not), malformed files named by row and column, and nothing applied before the admin confirms."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dashboard.bulk import tracking
from dashboard.models import BulkJob
from orders.models import HistoryEntry, Order
from tests.factories import CustomerFactory, VariantFactory, make_order

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize(
    ("content", "delimiter"),
    [
        ("Order,Carrier,Tracking #\nORD-000001,UPS,1Z1\n", ","),
        ("order_number;carrier;tracking_number\nORD-000001;UPS;1Z1\n", ";"),
        ("Tracking Number\tOrder Number\tCarrier\n1Z1\tORD-000001\tUPS\n", "\t"),
        ("\ufeffExternal ID,Shipping Carrier,Tracking No.\r\nORD-000001,UPS,1Z1\r\n", ","),
    ],
)
def test_common_header_spellings_and_delimiters_are_read(content, delimiter):
    preview = tracking.parse(content.encode())
    assert preview.delimiter == delimiter
    [row] = preview.rows
    assert (row.line, row.reference, row.carrier, row.tracking) == (2, "ORD-000001", "UPS", "1Z1")


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (
            "Order,Tracking #\nORD-000001,1Z1\n",
            "Row 1: no carrier column (found “Order”, “Tracking #”; split by comma). Name it for example "
            "“Order”, “Carrier” or “Tracking #”.",
        ),
        (
            "Order;Carrier;Tracking #\nORD-000001;UPS;\n",
            "Row 2, column “Tracking #”: empty; give the tracking number.",
        ),
        (
            "Order,Carrier,Tracking\nORD-1,UPS,1Z1\nORD-2,UPS,1Z2,extra\n",
            "Row 3: 4 cells, but the header has 3.",
        ),
        (
            "Order,Carrier,Tracking\nORD-1,UPS,1Z1\n\nORD-1,DHL,9\n",
            "Row 4, column “Order”: ORD-1 is also on row 2; one tracking number per order.",
        ),
        ("", "The file is empty: it needs a header row and one row per order."),
    ],
)
def test_a_malformed_file_is_refused_naming_row_and_column(content, error):
    with pytest.raises(tracking.TrackingFileError) as refused:
        tracking.parse(content.encode())
    assert error in refused.value.errors


@pytest.fixture
def shop(store):
    variant = VariantFactory(product__store=store, inventory_quantity=10**6)
    customer = CustomerFactory(store=store)

    def order(status, **kwargs):
        return make_order(store, status=status, customer=customer, items=[(variant, 1)], **kwargs)

    return {
        "ready": order("processing"),
        "external": order("processing", external_id="shop-77", platform_name="Shopify"),
        "shipped": order("shipped"),
        "pending": order("pending"),
    }


def upload(client, content: str, name="tracking.csv"):
    file = SimpleUploadedFile(name, content.encode(), content_type="text/csv")
    return client.post(reverse("dashboard:tracking_upload", args=["acme"]), {"file": file})


def test_the_preview_says_per_row_which_order_and_whether_it_may_ship(
    admin_client_member, shop, django_capture_on_commit_callbacks
):
    # given: a file with a shippable order by number and by external ID, one shipped, one pending, one unknown
    content = (
        "Order Number;Carrier;Tracking #\n"
        f"ORD-{shop['ready'].order_number};BRT;BRT-1\n"
        "shop-77;GLS;GLS-2\n"
        f"ORD-{shop['shipped'].order_number:06d};UPS;1Z3\n"
        f"ORD-{shop['pending'].order_number:06d};UPS;1Z4\n"
        "ORD-999999;UPS;1Z5\n"
    )

    # when: uploaded
    response = upload(admin_client_member, content)
    body = response.content.decode()

    # then: the preview, and nothing changed yet
    assert response.status_code == 200
    assert "2</strong> of 5 rows can ship" in body
    assert "Already shipped." in body
    assert "It is pending; it may move to: confirmed, cancelled." in body
    assert "No order with this number or external ID in this store." in body
    assert not BulkJob.objects.exists()
    assert Order.objects.filter(status="shipped").count() == 1

    # when: the admin applies the preview
    token = body.split('name="token" value="')[1].split('"')[0]
    with django_capture_on_commit_callbacks(execute=True):
        applied = admin_client_member.post(
            reverse("dashboard:tracking_upload", args=["acme"]), {"token": token}
        )

    # then: one job ships exactly the two rows that could, each with its own carrier and number
    job = BulkJob.objects.get()
    assert applied["Location"] == reverse("dashboard:job_detail", args=["acme", job.pk])
    job.refresh_from_db()
    assert (job.status, job.total, job.succeeded, job.failed) == ("done", 2, 2, 0)
    shop["ready"].refresh_from_db()
    shop["external"].refresh_from_db()
    assert shop["ready"].metadata == {"trackingNumber": "BRT-1", "carrier": "BRT"}
    assert shop["external"].metadata == {"trackingNumber": "GLS-2", "carrier": "GLS"}
    assert shop["ready"].status == shop["external"].status == "shipped"
    entry = HistoryEntry.objects.get(order=shop["ready"], kind="status")
    assert entry.note == f"Tracking upload tracking.csv · bulk job #{job.pk}"

    # a second apply of the same preview does nothing
    again = admin_client_member.post(reverse("dashboard:tracking_upload", args=["acme"]), {"token": token})
    assert again.status_code == 400
    assert BulkJob.objects.count() == 1


def test_a_malformed_upload_shows_the_problems_and_applies_nothing(admin_client_member, shop):
    response = upload(admin_client_member, "Order,Carrier,Tracking #\nORD-1,,1Z\n", name="bad.csv")
    body = response.content.decode()
    assert response.status_code == 200
    assert "bad.csv cannot be used." in body
    assert "Row 2, column “Carrier”: empty; give the carrier." in body
    assert 'name="token"' not in body
    assert not BulkJob.objects.exists()


def test_a_viewer_cannot_upload(viewer_client, shop):
    assert upload(viewer_client, "Order,Carrier,Tracking\nORD-1,UPS,1\n").status_code == 403
