"""Reading the record: an office's history and settlement (``history``, ``settlements``), receipts
fetched and checked (``receipts``), supervisors' searches and exports (``search``), reads recorded
and proofs in scope (``reads``), office and agency scorecards (``scorecards``, ``agencies``).
Every supervisor's query carries its scope."""
