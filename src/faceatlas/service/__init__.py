"""The HTTP API (`faceatlas serve`): FastAPI on uvicorn, the pipeline behind it, typed errors as RFC 9457 problems."""
