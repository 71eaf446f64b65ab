"""The HTTP service the marketplace's listing form calls: an adapter over the same actions as the command
line and the pages (``core.actions.listing_service``), on FastAPI and uvicorn."""
