"""One access-log line per request: method, path, status, rows, milliseconds (logger tfbig.serve.access)."""
import logging

from aiohttp.abc import AbstractAccessLogger

access_log = logging.getLogger("tfbig.serve.access")


class AccessLogger(AbstractAccessLogger):
    def log(self, request, response, time: float) -> None:
        rows = request.get("rows", "-")
        self.logger.info("%s %s %d rows=%s %.1fms", request.method, request.path_qs[:200], response.status,
                         rows, time * 1000)
