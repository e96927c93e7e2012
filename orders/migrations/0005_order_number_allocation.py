# Order numbers are now handed out without the store row lock (orders/services/order_numbers.py): a
# store's counter, `Store.last_order_number`, is bumped in its own short transaction and the number is
# used as is. Bring every counter up to the highest number its store's orders already have, so that no
# number handed out from here on can collide with an order written by other means; the unique
# constraint (store, order_number) stays the last line.

from django.db import migrations
from django.db.models import Max, OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest


def counters_from_highest_order_number(apps, schema_editor):
    Store = apps.get_model("orders", "Store")
    Order = apps.get_model("orders", "Order")
    highest = (
        Order.objects.filter(store=OuterRef("pk"))
        .order_by()
        .values("store")
        .annotate(n=Max("order_number"))
        .values("n")
    )
    Store.objects.update(last_order_number=Greatest("last_order_number", Coalesce(Subquery(highest), 0)))


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_search_indexes")]

    operations = [migrations.RunPython(counters_from_highest_order_number, migrations.RunPython.noop)]
