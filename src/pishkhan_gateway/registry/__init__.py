"""Who may use the gateway: licensed offices and their operators (``offices``), supervisors and
their scopes (``supervisors``), and the bearer credentials of both (``credentials``)."""
