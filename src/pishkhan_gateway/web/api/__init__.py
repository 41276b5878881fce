"""The JSON API, one module per domain: the counter and the office's own calls (``offices``,
``operators``, ``receipts``), the supervisors' (``audit``, ``licences``, ``cases``,
``evaluation``, ``entitlements``, ``tariffs``, ``agencyreports``), the citizens' (``appointments``,
``feedback``), the log's tiles and witness (``logtiles``, ``witness``) and ``system``."""
