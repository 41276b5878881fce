"""The core's side of the plugin contract: loading plugins (``manager``) and the one guarded
door every hook call goes through (``door``). What a plugin itself uses is ``pishkhan_gateway``'s
``__all__`` (the SDK, ``sdk/``)."""
