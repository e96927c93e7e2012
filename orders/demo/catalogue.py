"""Static ingredients of the demo data: the demo stores, their catalogues, names, addresses, carriers.

Plain data, no queries. Emails use the reserved example domains (RFC 2606), so demo data can never mail
a real person.
"""

from dataclasses import dataclass
from decimal import Decimal

from orders.demo.locales import IT, UK, US, Locale


@dataclass(frozen=True)
class DemoStore:
    name: str
    currency: str
    timezone: str
    locale: Locale
    tax_rate: Decimal
    shipping_fee: Decimal
    free_shipping_over: Decimal
    carriers: tuple[str, ...]
    # (product name, SKU stem, ((variant name, SKU suffix, price, tracked), ...))
    products: tuple[tuple[str, str, tuple[tuple[str, str, str, bool], ...]], ...]


STORES: tuple[DemoStore, ...] = (
    DemoStore(
        name="Vesuvio Coffee",
        currency="USD",
        timezone="America/New_York",
        locale=US,
        tax_rate=Decimal("0.08875"),
        shipping_fee=Decimal("6.95"),
        free_shipping_over=Decimal("75.00"),
        carriers=("UPS", "USPS", "FedEx"),
        products=(
            (
                "Vesuvio Espresso Blend",
                "VES-ESP",
                (
                    ("250 g, whole bean", "250-WB", "14.50", True),
                    ("250 g, ground", "250-GR", "14.50", True),
                    ("1 kg, whole bean", "1K-WB", "42.00", True),
                ),
            ),
            (
                "Napoli Dark Roast",
                "VES-NDR",
                (
                    ("250 g, whole bean", "250-WB", "13.90", True),
                    ("1 kg, whole bean", "1K-WB", "39.00", True),
                ),
            ),
            (
                "Ethiopia Yirgacheffe",
                "VES-ETH",
                (
                    ("250 g, whole bean", "250-WB", "17.50", True),
                    ("250 g, ground", "250-GR", "17.50", True),
                ),
            ),
            ("Colombia Huila Decaf", "VES-DEC", (("250 g, whole bean", "250-WB", "15.50", True),)),
            ("Moka Pot", "VES-MOKA", (("3 cups", "3", "34.00", True), ("6 cups", "6", "42.00", True))),
            ("Espresso Cup Set", "VES-CUP", (("2 cups", "2", "24.00", True), ("4 cups", "4", "44.00", True))),
            (
                "Barista Milk Jug",
                "VES-JUG",
                (("350 ml", "350", "19.90", True), ("600 ml", "600", "23.90", True)),
            ),
            (
                "Burr Grinder",
                "VES-GRD",
                (("Manual", "MAN", "69.00", True), ("Electric", "ELE", "149.00", True)),
            ),
            (
                "Gift Card",
                "VES-GIFT",
                (
                    ("$25", "25", "25.00", False),
                    ("$50", "50", "50.00", False),
                    ("$100", "100", "100.00", False),
                ),
            ),
        ),
    ),
    DemoStore(
        name="Napoli Apparel",
        currency="EUR",
        timezone="Europe/Rome",
        locale=IT,
        tax_rate=Decimal("0.22"),
        shipping_fee=Decimal("4.90"),
        free_shipping_over=Decimal("60.00"),
        carriers=("BRT", "GLS", "Poste Italiane", "DHL"),
        products=(
            (
                "Linen Shirt",
                "NAP-LIN",
                tuple(
                    (f"{colour}, {size}", f"{code}-{size}", "59.00", True)
                    for colour, code in (("White", "WHT"), ("Sky Blue", "SKY"))
                    for size in ("S", "M", "L", "XL")
                ),
            ),
            (
                "Cotton T-Shirt",
                "NAP-TEE",
                tuple(
                    (f"{colour}, {size}", f"{code}-{size}", "24.90", True)
                    for colour, code in (("Black", "BLK"), ("White", "WHT"), ("Navy", "NVY"))
                    for size in ("S", "M", "L", "XL")
                ),
            ),
            (
                "Chino Trousers",
                "NAP-CHI",
                tuple((f"Sand, {size}", f"SND-{size}", "79.00", True) for size in ("46", "48", "50", "52")),
            ),
            (
                "Merino Sweater",
                "NAP-MER",
                (("Grey, M", "GRY-M", "99.00", True), ("Grey, L", "GRY-L", "99.00", True)),
            ),
            ("Leather Belt", "NAP-BLT", (("Brown", "BRN", "45.00", True), ("Black", "BLK", "45.00", True))),
            ("Silk Scarf", "NAP-SCF", (("Amalfi print", "AMA", "65.00", True),)),
            ("Canvas Tote Bag", "NAP-TOT", (("Natural", "NAT", "19.00", True),)),
        ),
    ),
    DemoStore(
        name="Highland Outfitters",
        currency="GBP",
        timezone="Europe/London",
        locale=UK,
        tax_rate=Decimal("0.20"),
        shipping_fee=Decimal("3.99"),
        free_shipping_over=Decimal("50.00"),
        carriers=("Royal Mail", "DPD", "Evri"),
        products=(
            (
                "Waxed Jacket",
                "HIG-WAX",
                (("Olive, M", "OLV-M", "189.00", True), ("Olive, L", "OLV-L", "189.00", True)),
            ),
            ("Wool Beanie", "HIG-BEA", (("Heather", "HTH", "22.00", True), ("Navy", "NVY", "22.00", True))),
            ("Walking Socks", "HIG-SOK", (("3 pairs", "3P", "18.00", True),)),
            ("Tartan Scarf", "HIG-TAR", (("Red tartan", "RED", "39.00", True),)),
        ),
    ),
)

# Realistic reasons and notes; empty strings make some entries carry none.
CANCEL_REASONS = (
    "Customer requested cancellation",
    "Payment could not be captured",
    "Item out of stock",
    "Duplicate order",
    "Suspected fraud",
    "Shipping address could not be verified",
)
REFUND_REASONS = (
    "Damaged in transit",
    "Wrong size",
    "Customer changed mind",
    "Item not as described",
    "Late delivery",
)
STEP_NOTES = {
    "confirmed": ("", "", "Payment captured"),
    "processing": ("", "Picking started", "Gift wrap requested", ""),
    "partially_shipped": ("Remaining items ship from the second warehouse", "Split shipment"),
    "shipped": ("", "Handed to carrier", ""),
    "partially_delivered": ("First parcel delivered",),
    "delivered": ("", "Delivered to front door", "Signed by customer", ""),
}
ORDER_NOTES = (
    "",
    "",
    "",
    "",
    "",
    "Leave at the front door",
    "Please ring twice",
    "Gift: no prices on the slip",
)
PAYMENT_METHODS = ("card", "card", "card", "paypal", "apple_pay", "google_pay")
PLATFORMS = (("Shopify", 0.40), ("WooCommerce", 0.25))  # the rest are the store's own orders
DISCOUNT_CODES = ("WELCOME10", "SUMMER10", "VIP10")
