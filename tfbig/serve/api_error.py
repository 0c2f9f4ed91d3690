"""ApiError: a client's mistake (or an overload) answered as `{"error": "..."}` with an HTTP status."""


class ApiError(Exception):
    """status: int. The HTTP status (400, 404, 413, 503, 504). The message names the problem, no trace."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message
