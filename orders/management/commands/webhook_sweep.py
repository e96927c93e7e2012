"""`manage.py webhook_sweep`: the former name of `recovery_sweep`, kept for existing cron lines and
process files. It does the whole recovery pass (webhook deliveries and refunds)."""

from orders.management.commands.recovery_sweep import Command as RecoverySweep


class Command(RecoverySweep):
    help = "Same as recovery_sweep (the former name)."
