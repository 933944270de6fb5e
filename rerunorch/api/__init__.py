"""The Testsigma contract: the client, the models and enums, their JSON converter, and
how the server's answers map to :mod:`rerunorch.errors`.

Nothing outside this package speaks HTTP or JSON to Testsigma. This module itself
imports nothing, so that settings can name the default server without aiohttp.
"""

__all__ = ["DEFAULT_BASE_URL"]

DEFAULT_BASE_URL = "https://app.testsigma.com"
