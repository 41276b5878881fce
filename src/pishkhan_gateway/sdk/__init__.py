"""The plugin SDK's parts: the hook contract (``hookspecs``), the values crossing it
(``values``), contract files (``contract``), SOAP and REST helpers ending on the agency's
deadline (``soap``, ``rest``, ``agencyhttp``) and sandbox servers (``sandboxkit``). Plugins import
them from ``pishkhan_gateway`` itself (its ``__all__``), never from here."""
