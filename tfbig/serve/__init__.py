"""`tfbig serve`: tfbig's SavedModel exports over TF Serving's REST API, with dynamic batching.

Web stack: aiohttp. One kept, widely used package gives the server and the asyncio HTTP client that the
benchmark and tests need for concurrent load; it caps the body size itself (`client_max_size`), takes a
custom access-log class, and its runner shuts down gracefully (stop listening, wait for in-flight handlers)
without a second process manager; starlette + uvicorn would need two packages plus a client (httpx).

Files: config (ServeConfig), api_error (ApiError -> `{"error": ...}`), signature (specs read from a loaded
signature), request (JSON body -> arrays), response (arrays -> JSON), batching (Batcher), versions
(ModelVersion, ServedModel: loading, validation, pick-up of new versions), metrics (Prometheus),
access_log, routes (the aiohttp app), server (listen, SIGTERM drain).
"""
