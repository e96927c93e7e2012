"""Template helpers of the bulk jobs (dashboard/bulk/)."""

import re

from django import template
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# How the runner names its job in a change's note (dashboard/bulk/runner.py, `job_reference`).
JOB_REFERENCE = re.compile(r"bulk job #(\d{1,12})")


@register.filter
def link_bulk_jobs(note: str, store_slug: str) -> SafeString:
    """The note, escaped, with each “bulk job #N” a link to that job's page in this store."""
    parts = []
    position = 0
    for match in JOB_REFERENCE.finditer(note or ""):
        parts.append(conditional_escape(note[position : match.start()]))
        url = reverse("dashboard:job_detail", args=[store_slug, int(match.group(1))])
        parts.append(format_html('<a class="job-link" href="{}">{}</a>', url, match.group(0)))
        position = match.end()
    parts.append(conditional_escape((note or "")[position:]))
    return mark_safe("".join(str(p) for p in parts))  # noqa: S308 - every part escaped above
