from ninja import Router

router = Router(tags=["webhooks"])
sdk_router = Router(tags=["webhooks (SDK paths)"])
