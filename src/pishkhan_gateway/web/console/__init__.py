"""The supervisors' Persian console (and, by the office portal, the offices'): ``base`` holds its
blueprint, sessions, CSRF, the access log and the record's pages; ``life`` (the office's life),
``appointments`` and ``ranking`` add their pages to it, ``words`` its Persian filters. Importing
the package assembles the whole console; ``bp`` is what the app registers."""

from pishkhan_gateway.web.console import appointments, base, life, ranking, words

bp = base.bp

__all__ = ["appointments", "base", "bp", "life", "ranking", "words"]
